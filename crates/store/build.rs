// `sqlx::migrate!` embeds the migration files at compile time, but on stable Rust a proc
// macro cannot tell cargo which files it read: without this, a new migration is not picked up
// until something else in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
