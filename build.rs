// The migrations are embedded into the binary at compile time (`sqlx::migrate!`), so adding or
// editing one must rebuild the crate; without this, cargo would keep a binary with the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
