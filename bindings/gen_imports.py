#!/usr/bin/env python3
"""Regenerates the raw import blocks of the Delphi unit and the C# class from
include/anaf_bridge.h: every exported function and every status constant. The
hand-written wrapper classes around them stay as they are.

    python3 bindings/gen_imports.py          # rewrite the blocks in place
    python3 bindings/gen_imports.py --check  # exit 1 if a block is stale

An unknown C type stops the generator: add its mapping below rather than guess."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "include" / "anaf_bridge.h"
PAS = ROOT / "bindings" / "delphi" / "AnafBridge.pas"
CS = ROOT / "bindings" / "dotnet" / "AnafBridge.cs"


def norm(t):
    t = re.sub(r"\bstruct\s+", "", t.strip())
    t = re.sub(r"\s*\*\s*", "*", t)
    return re.sub(r"\s+", " ", t)


def parse(text):
    consts = re.findall(r"^#define\s+(ANAF_\w+)\s+(-?\d+)\s*$", text, re.M)
    comments = {}
    lines = text.splitlines()
    for i, l in enumerate(lines):
        m = re.match(r"#define\s+(ANAF_\w+)\s", l)
        if m and i > 0 and lines[i - 1].startswith("//"):
            comments[m.group(1)] = lines[i - 1][2:].strip()
    body = text.split('extern "C" {', 1)[1] if 'extern "C" {' in text else text
    body = re.sub(r"//[^\n]*", "", body)
    body = re.sub(r"#\w+[^\n]*", "", body)
    funcs = []
    for m in re.finditer(r"([\w\s\*]+?)\b(anaf_\w+)\s*\(([^)]*)\)\s*;", body):
        ret = norm(m.group(1))
        params = []
        p = m.group(3).strip()
        if p and p != "void":
            for part in p.split(","):
                part = part.strip()
                pm = re.match(r"(.*?)(\w+)$", part)
                params.append((norm(pm.group(1)), pm.group(2)))
        funcs.append((ret, m.group(2), params))
    return consts, comments, funcs


PAS_TYPES = {
    "int32_t": "Integer", "uint32_t": "Cardinal", "int64_t": "Int64", "uint64_t": "UInt64",
    "bool": "ByteBool", "size_t": "TAnafSize", "const char*": "PAnsiChar", "char*": "PAnsiChar",
    "char**": "PAnafPChar", "AnafClient*": "PAnafClient", "AnafClient**": "PPAnafClient",
    "const uint8_t*": "Pointer", "uint8_t*": "Pointer", "uint8_t**": "PPointer", "void*": "Pointer",
    "int32_t*": "PInteger", "int64_t*": "PInt64", "size_t*": "PAnafSize", "uint32_t*": "PCardinal",
    "double": "Double", "uint8_t": "Byte", "uint16_t": "Word", "void**": "PPointer",
    "const char**": "PAnafPChar",
}
CS_PARAM = {
    "int32_t": "int", "uint32_t": "uint", "int64_t": "long", "uint64_t": "ulong",
    "bool": "[MarshalAs(UnmanagedType.U1)] bool", "size_t": "UIntPtr", "const char*": "byte[]",
    "char*": "IntPtr", "char**": "out IntPtr", "AnafClient*": "ClientHandle",
    "AnafClient**": "out ClientHandle", "const uint8_t*": "byte[]", "uint8_t*": "IntPtr",
    "uint8_t**": "out IntPtr", "void*": "IntPtr", "int32_t*": "out int", "int64_t*": "out long",
    "size_t*": "out UIntPtr", "uint32_t*": "out uint",
    "double": "double", "uint8_t": "byte", "uint16_t": "ushort", "void**": "out IntPtr",
    "const char**": "IntPtr[]",
}
CS_RET = {"int32_t": "int", "void": "void", "const char*": "IntPtr", "char*": "IntPtr",
          "int64_t": "long", "uint32_t": "uint", "bool": "bool", "double": "double"}
PAS_RESERVED = {"type", "out", "string", "file", "begin", "end", "program", "unit", "var",
                "const", "set", "label", "object", "to", "in", "is", "as", "div", "mod"}
CS_RESERVED = {"string", "out", "ref", "params", "object", "base", "event", "fixed", "lock",
               "checked", "default", "operator", "in", "is", "as", "extern", "internal"}


def need(table, t, fn):
    if t not in table:
        sys.exit(f"gen_imports: no mapping for C type '{t}' (in {fn}); add it to bindings/gen_imports.py")
    return table[t]


def pas_block(consts, comments, funcs):
    out = ["const"]
    for name, val in consts:
        c = comments.get(name)
        out.append(f"  {name} = {val};" + (f" {{ {c.replace('}', ')')} }}" if c else ""))
    out.append("")
    for ret, name, params in funcs:
        ps = []
        for t, n in params:
            pn = ("A" + n) if n.lower() in PAS_RESERVED else n
            ps.append(f"{pn}: {need(PAS_TYPES, t, name)}")
        args = f"({'; '.join(ps)})" if ps else ""
        if ret == "void":
            out.append(f"procedure {name}{args}; cdecl; external AnafLib name '{name}';")
        else:
            out.append(f"function {name}{args}: {need(PAS_TYPES, ret, name)}; cdecl; external AnafLib name '{name}';")
    return "\n".join(out)


def cs_block(consts, comments, funcs):
    out = []
    for name, val in consts:
        c = comments.get(name)
        if c:
            out.append(f"        /// <summary>{c.replace('&', '&amp;').replace('<', '&lt;')}</summary>")
        out.append(f"        public const int {name} = {val};")
    out.append("")
    for ret, name, params in funcs:
        ps = []
        for t, n in params:
            pn = ("@" + n) if n in CS_RESERVED else n
            ct = need(CS_PARAM, t, name)
            if name == "anaf_close" and t == "AnafClient*":
                ct = "IntPtr"  # called from SafeHandle.ReleaseHandle with the raw value
            ps.append(f"{ct} {pn}")
        r = need(CS_RET, ret, name)
        if r == "bool":
            out.append("        [return: MarshalAs(UnmanagedType.U1)]")
        out.append(f'        [DllImport(Lib, CallingConvention = CallingConvention.Cdecl, EntryPoint = "{name}", ExactSpelling = true)]')
        out.append(f"        public static extern {r} {name}({', '.join(ps)});")
    return "\n".join(out)


def splice(path, begin, end, block, check):
    text = path.read_text(encoding="utf-8")
    i, j = text.index(begin), text.index(end)
    head = text[: i + len(begin)]
    new = head + "\n" + block + "\n" + text[j:]
    if check:
        return new == text
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(f"updated {path.relative_to(ROOT)}")
    return True


def main():
    check = "--check" in sys.argv
    consts, comments, funcs = parse(HEADER.read_text(encoding="utf-8"))
    ok = splice(PAS, "{ BEGIN GENERATED IMPORTS }", "{ END GENERATED IMPORTS }",
                pas_block(consts, comments, funcs), check)
    ok &= splice(CS, "// BEGIN GENERATED IMPORTS", "        // END GENERATED IMPORTS",
                 cs_block(consts, comments, funcs), check)
    if check and not ok:
        sys.exit("gen_imports: the import blocks are stale; run python3 bindings/gen_imports.py")
    print(f"{len(funcs)} functions, {len(consts)} constants")


if __name__ == "__main__":
    main()
