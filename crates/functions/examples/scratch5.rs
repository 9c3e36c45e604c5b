use std::time::Instant;
use switchboard_functions::*;
#[tokio::main]
async fn main() {
    let py = resolve_python(None).await.unwrap();
    for (name, clear, pg) in [("std inherit", false, false), ("std clear", true, false), ("std clear+pg", true, true)] {
        let mut b = vec![];
        for _ in 0..15 {
            let t = Instant::now();
            let mut c = std::process::Command::new(&py.executable);
            c.args(["-I","-S","-B","-c","pass"]);
            if clear { c.env_clear().env("PATH", "/usr/bin:/bin").env("LANG", "C.UTF-8"); }
            if pg { use std::os::unix::process::CommandExt; c.process_group(0); }
            c.status().unwrap();
            b.push(t.elapsed());
        }
        b.sort(); println!("{name} p50 {:?}", b[7]);
    }
}
