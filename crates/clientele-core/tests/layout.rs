//! The core's layout, checked: no module imports from a module that imports it back, the core
//! does no I/O of its own, and no file outgrows what one reader can hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every source file of the core: its module path (`customers::services`) and its text up to
/// its test module, without comments.
fn modules() -> BTreeMap<String, (PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|path| {
            let relative = path.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let code: Vec<&str> = code
                .lines()
                .filter(|line| !line.trim_start().starts_with("//"))
                .map(|line| line.split(" // ").next().unwrap_or_default())
                .collect();
            (parts.join("::"), (path, code.join("\n")))
        })
        .collect()
}

/// The paths named after each `crate::` in `code`, with `{a, b::c}` groups expanded.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    fn tree(prefix: &[String], rest: &str, out: &mut Vec<Vec<String>>) -> usize {
        // Reads `ident(::ident)*` then maybe `::{...}`; returns the bytes consumed.
        let mut path = prefix.to_vec();
        let mut at = 0;
        loop {
            let ident: String = rest[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            at += ident.len();
            if !ident.is_empty() {
                path.push(ident);
            }
            if rest[at..].starts_with("::{") {
                at += 3;
                loop {
                    let skipped = rest[at..].len() - rest[at..].trim_start().len();
                    at += skipped;
                    if rest[at..].starts_with('}') {
                        return at + 1;
                    }
                    at += tree(&path, &rest[at..], out);
                    let skipped = rest[at..].len() - rest[at..].trim_start_matches([',', ' ', '\n']).len();
                    at += skipped;
                    if skipped == 0 && !rest[at..].starts_with('}') {
                        return at;
                    }
                }
            } else if rest[at..].starts_with("::") {
                at += 2;
            } else {
                out.push(path);
                return at;
            }
        }
    }
    let mut out = Vec::new();
    for (index, _) in code.match_indices("crate::") {
        tree(&[], &code[index + "crate::".len()..], &mut out);
    }
    out
}

#[test]
fn no_module_of_the_core_imports_a_module_that_imports_it_back() {
    let modules = modules();
    let mut edges: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, (_, code)) in &modules {
        for path in crate_paths(code) {
            let target = (1..=path.len())
                .rev()
                .map(|n| path[..n].join("::"))
                .find(|candidate| modules.contains_key(candidate.as_str()));
            let Some(target) = target else { continue };
            let (target, _) = modules.get_key_value(target.as_str()).unwrap();
            // A module naming itself or one of its parents (which only declare it) is no import.
            if target != name && !name.starts_with(&format!("{target}::")) && !target.is_empty() {
                edges.entry(name).or_default().insert(target);
            }
        }
    }
    // A cycle is a module that reaches itself.
    let mut cycles = Vec::new();
    for start in edges.keys() {
        let mut stack = vec![(*start, vec![*start])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in edges.get(at).into_iter().flatten() {
                if next == start {
                    cycles.push([path.as_slice(), &[*start]].concat().join(" -> "));
                } else if seen.insert(*next) {
                    stack.push((next, [path.as_slice(), &[*next]].concat()));
                }
            }
        }
    }
    assert!(edges.len() > 20, "the import graph was read: {edges:?}");
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_core_does_no_io_of_its_own() {
    for (name, (_, code)) in modules() {
        for forbidden in ["tokio::", "std::fs", "std::net", "reqwest", "sqlx", "axum"] {
            assert!(!code.contains(forbidden), "{name} uses {forbidden} outside its tests");
        }
    }
}

#[test]
fn no_file_of_the_core_outgrows_one_reading() {
    for (name, (path, code)) in modules() {
        let lines = code.lines().count();
        assert!(lines <= 600, "{name} ({}) has {lines} lines of code: split it by what it does", path.display());
    }
}
