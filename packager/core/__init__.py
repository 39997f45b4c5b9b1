"""What every stage shares: errors, the external-tool runner, the context, files and caches.

Owns: the error classes and their exit codes, running external programs, the `Context`
handed down from the CLI, atomic writes and staging, safe archive extraction, the cache
directory and packager's own templates. Imports nothing else of packager.
"""
