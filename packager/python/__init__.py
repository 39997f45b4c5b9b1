"""The Python that goes in: interpreters found or built, and what each target takes.

Owns: discovering and probing interpreters, portable runtimes built with zig for a glibc
floor (`portable/`), choosing the runtime a bundle ships, a cross target's CPython in its
root file system, and a Windows CPython home. May import: core, targets, binary.
"""
