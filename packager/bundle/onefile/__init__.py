"""The onefile layout: one static executable that carries its modules and imports them in place.

Entry points, each in its own module so importing one does not load the others:
`builder.build_onefile` (returns a OnefileResult; its licences and SBOM come from
`notices.carry_notices`) and `report.to_text`/`report.to_json`
(render it). The payload format itself is a binary format and lives with the readers
(`packager.binary.onefile_payload`); the crate's start-up code is `packager.crate.crate_runtime`.
Nothing here prints or exits.
"""
