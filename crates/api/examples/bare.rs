//! The benchmark's baseline: a bare axum server answering every GET and POST with the same
//! fixed bytes. `bare LISTEN_ADDR FILE [--read-body]`: with `--read-body` a POST's body is read
//! whole first (the floor under any handler that looks at what it is sent).

use axum::http::header;
use axum::response::IntoResponse;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18182".into());
    let file = args.next().expect("usage: bare LISTEN_ADDR FILE");
    let body: &'static [u8] = Box::leak(
        std::fs::read(file)
            .expect("readable body file")
            .into_boxed_slice(),
    );
    let read_body = args.next().as_deref() == Some("--read-body");
    let handler =
        move || async move { ([(header::CONTENT_TYPE, "application/json")], body).into_response() };
    let reading = move |sent: axum::body::Bytes| async move {
        std::hint::black_box(sent.len());
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    };
    let app = if read_body {
        axum::Router::new().fallback(reading)
    } else {
        axum::Router::new().fallback(handler)
    };
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
