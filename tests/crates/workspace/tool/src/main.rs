//! A program that does not embed Python: packager must not pick it by itself.

fn main() {
    println!("tool");
}
