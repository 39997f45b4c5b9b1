"""The hello sample's application: prints the interpreter version and calls into Rust."""

import json
import sys

import hello_native

print(sys.version)
print(json.dumps({"hello": "world", "version": list(sys.version_info[:3])}))
print(hello_native.greet("packager"))
print("2 + 3 =", hello_native.add(2, 3))
