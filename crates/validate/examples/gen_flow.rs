//! Print a generated benchmark flow: `cargo run -p switchboard-validate --example gen_flow -- 1000 [invalid]`.
#[path = "../benches/common/gen.rs"]
mod gen;

fn main() {
    let mut args = std::env::args().skip(1);
    let n = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let bad = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);
    println!("{}", gen::generate(n, bad));
}
