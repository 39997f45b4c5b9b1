//! The sentence the program hands to Python.

pub const SENTENCE: &str = "one two three";
