use std::time::Duration;
use switchboard_functions::*;
const SRC: &str = "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};";
fn main() {
    for mb in [256usize, 512, 1024, 2048] {
        let mut e = JsEngine::new(Limits { memory_bytes: mb << 10, ..Limits::default() });
        let f = FunctionSource { key: "pc@1".into(), language: Language::Js, source: SRC.into(), timeout: Duration::from_secs(3) };
        let inputs = serde_json::json!({"contact":{"name":"John Doe","phone":"(415) 555-0132"}});
        let mut n = 0; let mut err = None;
        for _ in 0..1990 { match e.invoke(&f, &inputs) { Ok(_) => n += 1, Err(x) => { err = Some(x); break } } }
        println!("{mb} KiB: {n} calls ok, {:?}", err);
    }
}
