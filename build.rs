//! `sqlx::migrate!` embeds `migrations/<engine>/` when the crate compiles; without this,
//! a migration added or changed would not reach the binary until something else
//! forced a rebuild.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
