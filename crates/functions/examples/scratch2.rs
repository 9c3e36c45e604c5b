use std::time::{Duration, Instant};
use switchboard_functions::*;
const SRC: &str = "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};";
fn main() {
    let mut e = JsEngine::new(Limits::default());
    e.warm_up().unwrap();
    let f = FunctionSource { key: "pc@1".into(), language: Language::Js, source: SRC.into(), timeout: Duration::from_secs(3) };
    let inputs = serde_json::json!({"contact":{"name":"John Doe","phone":"(415) 555-0132"}});
    let mut v = vec![];
    for _ in 0..10000 { let t = Instant::now(); e.invoke(&f, &inputs).unwrap(); v.push(t.elapsed()); }
    for b in 0..20 { let mut x = v[b*500..(b+1)*500].to_vec(); x.sort(); print!("{:.1} ", x[250].as_secs_f64()*1e6); } println!();
    let mut w = v[..1999].to_vec(); w.sort();
    println!("warm p50 {:?} p99 {:?} max {:?}", w[1000], w[1980], w[1998]);
    v.sort(); println!("all p50 {:?} p99 {:?} p999 {:?} max {:?}", v[5000], v[9900], v[9990], v[9999]);
    for i in 0..5 { let f2 = FunctionSource { key: format!("new{i}"), ..f.clone() }; let t = Instant::now(); e.invoke(&f2, &inputs).unwrap(); println!("new key {:?}", t.elapsed()); }
}
