use std::time::Instant;
use switchboard_functions::*;
fn main() {
    for _ in 0..5 {
        let t = Instant::now();
        let mut e = JsEngine::new(Limits::default());
        e.warm_up().unwrap();
        println!("engine warm_up {:?}", t.elapsed());
    }
}
