"""Run what was written where no Python is visible, and report what happened.

Owns: the bubblewrap sandbox, debootstrap roots of older Debian releases, qemu-user for
another architecture, wine for Windows bundles and installers, and Xvfb for GUI apps;
`bundle --verify` and `packager verify` both come here. May import: core, targets, binary,
python, outputs.
"""
