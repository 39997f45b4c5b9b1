"""One static executable that carries its interpreter's modules and imports them in place.

Entry points, each in its own module so importing one does not load the others:
`builder.build_onefile` (returns a OnefileResult), `report.to_text`/`report.to_json`
(render it), `payload.read_payload` (what a file carries, read without running it) and
`runtime_source.write_runtime` (the crate's start-up code, refreshed by `packager build`).
Nothing here prints or exits.
"""
