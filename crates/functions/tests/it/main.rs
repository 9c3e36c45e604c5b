//! Integration tests of switchboard-functions, one binary: the JavaScript and Python
//! conformance tables, the escape and limit tests of both sandboxes, and the async host.

mod host;
mod js;
mod py;
mod support;
