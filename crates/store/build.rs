//! `sqlx::migrate!` embeds the migration directories in the crate; a migration added or changed
//! must rebuild it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
