//! README.md's walk-through, run as written, so it cannot drift from what the binary does.
//!
//! The test reads the ```sh blocks of the README sections named in `SECTIONS` (compiled in with
//! `include_str!`, so an edit of the README rebuilds the test), and runs them in order, as one
//! `bash` script with `set -euo pipefail`, against a real `benteng serve` started from a fresh,
//! empty working directory (its `./data` is the README's). It substitutes only what is the
//! reader's machine, not the commands:
//! - the line `alias benteng='cargo run -q --release -p benteng --'` becomes an alias of the debug
//!   binary this test was built with (the same program, without a release build);
//! - `localhost:8443` becomes `localhost:PORT`, the free port the server was given;
//! - `../shared/testdata/` becomes the shared test data beside the repository.
//!
//! The working directory stands for the repository root: it holds `./data` and a link to the
//! repository's `crates/`.
//!
//! The server is `benteng serve` with the embedded default (SQLite and the in-process cache in
//! `./data`), as `./scripts/run` starts it; the settings changed are its address (port 0) and
//! how often it looks for new sanctions lists (1 s instead of 5 s: see below).
//!
//! Expected output: a comment line `# => PATTERN` right after a command (one or more lines, up to
//! the previous comment or blank line) says that what the command printed (stdout and stderr)
//! has a line equal to PATTERN, where `…` stands for any text. Several `# =>` lines in a row are
//! all checked against the same command. Other comments are prose and are not checked. The
//! script stops at the first failing command (`set -e`), so a command that fails is caught even
//! without an expectation.
//!
//! The same convention is described in ARCHITECTURE.md (testing).

use std::path::Path;
use std::time::Duration;

use crate::harness::{Process, shared_testdata, workspace_root};

/// The README, as the binary under test was built against it.
const README: &str = include_str!("../../../../README.md");

/// The sections whose ```sh blocks run, in this order, in one shell (later sections use the
/// variables of earlier ones, as the README says).
const SECTIONS: &[&str] = &[
    "A five-minute walk-through",
    "SNAP (Bank Indonesia): a partner pays through benteng",
];

/// The README's way to run the CLI, replaced by the binary under test.
const README_ALIAS: &str = "alias benteng='cargo run -q --release -p benteng --'";
const README_ADDRESS: &str = "localhost:8443";
const README_TESTDATA: &str = "../shared/testdata/";

/// Wildcard in expected output.
const ANY: char = '…';

/// The ```sh blocks of one `## ` section of `markdown`, in order.
fn sh_blocks(markdown: &str, section: &str) -> Vec<String> {
    let heading = format!("## {section}");
    let mut lines = markdown
        .lines()
        .skip_while(|line| line.trim_end() != heading);
    assert!(
        lines.next().is_some(),
        "README.md has no section `{heading}`"
    );
    let mut blocks = Vec::new();
    let mut block: Option<String> = None;
    for line in lines.take_while(|line| !line.starts_with("## ")) {
        match (&mut block, line.trim_end()) {
            (None, "```sh") => block = Some(String::new()),
            (Some(_), "```") => blocks.extend(block.take()),
            (Some(text), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        block.is_none(),
        "an unterminated ```sh block in `{heading}`"
    );
    assert!(!blocks.is_empty(), "`{heading}` has no ```sh block");
    blocks
}

/// One checked command: where its output goes, and what it must contain.
struct Expectation {
    /// The command's first line in the README, for the failure message.
    command: String,
    patterns: Vec<String>,
}

/// The shell script for `blocks`: the commands as written, each one followed by `# =>` lines
/// wrapped so its output is also written to `$README_OUT/N` (N = its index in the returned list).
fn script(blocks: &[String]) -> (String, Vec<Expectation>) {
    // The trace (`set -x`) goes to a file of its own, not into the commands' output.
    let mut out = String::from(
        "set -euo pipefail\nshopt -s expand_aliases\n\
         exec 9>\"$README_OUT/trace\"\nBASH_XTRACEFD=9\nset -x\n",
    );
    let mut expectations: Vec<Expectation> = Vec::new();
    // Lines of the command(s) since the last comment or blank line.
    let mut pending: Vec<&str> = Vec::new();
    // Whether the line before was an expectation (a further `# =>` adds to it).
    let mut after_expectation = false;
    for line in blocks.iter().flat_map(|block| block.lines()) {
        let trimmed = line.trim_start();
        if let Some(pattern) = trimmed.strip_prefix("# =>") {
            let pattern = pattern.trim().to_owned();
            if !pending.is_empty() {
                // Only the last command is checked; the ones before it run as they are.
                let last = last_command_start(&pending);
                for command in pending.drain(..last) {
                    out.push_str(command);
                    out.push('\n');
                }
                let index = expectations.len();
                out.push_str("{\n");
                for command in &pending {
                    out.push_str(command);
                    out.push('\n');
                }
                // Through a pipe (not a file) so a command may itself write to /dev/stderr.
                out.push_str(&format!(
                    "}} > >(tee \"$README_OUT/{index}\") 2>&1\nwait $!\n"
                ));
                expectations.push(Expectation {
                    command: pending[0].trim().to_owned(),
                    patterns: vec![pattern],
                });
                pending.clear();
            } else {
                assert!(
                    after_expectation,
                    "README.md: `# => {pattern}` follows no command"
                );
                expectations
                    .last_mut()
                    .expect("an expectation before")
                    .patterns
                    .push(pattern);
            }
            after_expectation = true;
            continue;
        }
        after_expectation = false;
        if trimmed.is_empty() || trimmed.starts_with('#') {
            for command in pending.drain(..) {
                out.push_str(command);
                out.push('\n');
            }
            out.push_str(line);
            out.push('\n');
        } else {
            pending.push(line);
        }
    }
    for command in pending {
        out.push_str(command);
        out.push('\n');
    }
    (out, expectations)
}

/// Where the last command of `lines` starts: a command ends at a line that does not end in a
/// backslash and leaves no quote open (a quoted string may span lines, as the batch body does).
fn last_command_start(lines: &[&str]) -> usize {
    let mut start = 0;
    let mut quote: Option<char> = None;
    for (index, line) in lines.iter().enumerate() {
        let mut chars = line.chars();
        // A `#` starts a comment only at the start of a word.
        let mut word_start = true;
        while let Some(c) = chars.next() {
            let at_word_start = std::mem::replace(&mut word_start, c.is_whitespace());
            match (quote, c) {
                (Some('\''), '\'') => quote = None,
                (Some('\''), _) => {}
                (_, '\\') => {
                    chars.next();
                }
                (Some('"'), '"') => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') if at_word_start => break,
                (None, _) => {}
            }
        }
        let continued = line.trim_end().ends_with('\\') || quote.is_some();
        if !continued && index + 1 < lines.len() {
            start = index + 1;
        }
    }
    start
}

/// Whether `line` is `pattern`, each `…` of the pattern standing for any text.
fn matches(pattern: &str, line: &str) -> bool {
    let mut pieces = pattern.split(ANY);
    let first = pieces.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = pieces.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The README with the reader's machine replaced by the test's (see the module comment).
fn substituted(block: &str, binary: &Path, port: u16, testdata: &Path) -> String {
    block
        .replace(
            README_ALIAS,
            &format!("alias benteng='{}'", binary.display()),
        )
        .replace(README_ADDRESS, &format!("localhost:{port}"))
        .replace(README_TESTDATA, &format!("{}/", testdata.display()))
}

#[test]
fn a_check_is_on_the_command_before_it() {
    let lines = [
        "A=1",
        "curl -s x \\",
        "  -d \"{",
        "  \\\"a\\\": 1}\"   # it's a comment",
    ];
    assert_eq!(last_command_start(&lines), 1);
    assert_eq!(last_command_start(&["echo 'a", "b'", "echo c"]), 2);
    assert_eq!(last_command_start(&["echo a # don't", "echo b"]), 1);
    assert_eq!(last_command_start(&["echo a#'", "b'", "echo c"]), 2);
}

#[test]
fn the_wildcard_stands_for_any_text() {
    assert!(matches("401", "401"));
    assert!(!matches("401", "4012"));
    assert!(matches(r#"{"id":"…",…}"#, r#"{"id":"abc","name":"x"}"#));
    assert!(!matches(r#"{"id":"…",…}"#, r#"{"id":"abc"}"#));
    assert!(matches("a…b…c", "a-b-b-c"));
    assert!(!matches("a…b…c", "a-c-b"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_walk_through_runs_as_written() {
    let blocks: Vec<String> = SECTIONS
        .iter()
        .flat_map(|section| sh_blocks(README, section))
        .collect();
    let text = blocks.concat();
    for needle in [README_ALIAS, README_ADDRESS] {
        assert!(
            text.contains(needle),
            "the walk-through no longer has `{needle}`: update this test's substitutions"
        );
    }

    // A fresh directory, as a new user's checkout: nothing in ./data yet, and the repository's
    // `crates/` (the README runs the SNAP Python client from there).
    let home = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(workspace_root().join("crates"), home.path().join("crates"))
        .expect("link crates/");
    let out_dir = home.path().join("readme-out");
    std::fs::create_dir(&out_dir).expect("output dir");
    let binary = Path::new(env!("CARGO_BIN_EXE_benteng"));
    let path = std::env::var("PATH").unwrap_or_default();

    let mut serve = tokio::process::Command::new(binary);
    serve
        .env_clear()
        .env("PATH", &path)
        .env("BENTENG_SERVER__BIND", "127.0.0.1:0")
        // A script reads faster than a person: the README gives the server up to 6 s to start
        // screening with a newly loaded list, which the script may not take before its first
        // transfer. A 1 s poll keeps the walk-through's "APPROVED" from depending on the pace.
        .env("BENTENG_SCREENING__POLL_INTERVAL_SECS", "1")
        .current_dir(home.path())
        .arg("serve");
    let server = Process::start(serve, 1).await;

    let testdata = shared_testdata("sanctions")
        .parent()
        .expect("shared/testdata")
        .to_path_buf();
    let blocks: Vec<String> = blocks
        .iter()
        .map(|block| substituted(block, binary, server.address.port(), &testdata))
        .collect();
    let (script, expectations) = script(&blocks);
    let script_path = home.path().join("walk-through.sh");
    std::fs::write(&script_path, &script).expect("write the script");

    let run = tokio::process::Command::new("bash")
        .arg(&script_path)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", home.path())
        .env("LANG", "C.UTF-8")
        .env("README_OUT", &out_dir)
        .current_dir(home.path())
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("the walk-through finishes within 10 minutes")
        .expect("bash");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let trace = std::fs::read_to_string(out_dir.join("trace")).unwrap_or_default();
    let tail = |text: &str| -> String {
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    };
    assert!(
        output.status.success(),
        "a README command failed ({}).\n--- output:\n{}\n--- errors:\n{}\n--- trace (set -x):\n{}\n--- server log:\n{}",
        output.status,
        tail(&stdout),
        tail(&stderr),
        tail(&trace),
        tail(&server.logs.lock().unwrap().join("\n")),
    );

    let mut failures = Vec::new();
    for (index, expectation) in expectations.iter().enumerate() {
        let printed = std::fs::read_to_string(out_dir.join(index.to_string())).unwrap_or_default();
        for pattern in &expectation.patterns {
            if !printed
                .lines()
                .any(|line| matches(pattern, line.trim_end()))
            {
                failures.push(format!(
                    "`{}`\n  expected a line `{pattern}`, printed:\n{printed}",
                    expectation.command
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "README output differs from its `# =>` lines:\n{}",
        failures.join("\n")
    );
    assert!(
        !expectations.is_empty(),
        "the walk-through checks no output (`# =>` lines)"
    );
}
