//! `BENCHMARKS.md`: each benchmark run replaces its own section, marked by HTML comments, and
//! leaves the others alone.

use std::path::Path;

use anyhow::Context;

const HEADER: &str = "# Benchmarks\n\n\
Figures written by `clientele bench …` (see the README). Each run replaces its own section; every\n\
figure stands beside a baseline measured in the same run on the same machine.\n";

/// Writes `body` as the section `key` of the file at `path`, creating the file if needed.
pub fn write_section(path: &Path, key: &str, body: &str) -> anyhow::Result<()> {
    let current = std::fs::read_to_string(path).unwrap_or_else(|_| HEADER.to_owned());
    let updated = replace_section(&current, key, body);
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))
}

fn replace_section(current: &str, key: &str, body: &str) -> String {
    let (start, end) = (format!("<!-- bench:{key} -->"), format!("<!-- /bench:{key} -->"));
    let section = format!("{start}\n{}\n{end}", body.trim_end());
    match (current.find(&start), current.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{section}{}", &current[..a], &current[b + end.len()..]),
        _ => format!("{}\n{section}\n", current.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_replaced_in_place_and_others_kept() {
        let first = replace_section(HEADER, "search:sqlite", "one");
        let both = replace_section(&first, "search:postgres", "two");
        let again = replace_section(&both, "search:sqlite", "three");
        assert!(again.contains("three") && again.contains("two") && !again.contains("one"));
        assert!(again.find("three") < again.find("two"), "order kept");
    }
}
