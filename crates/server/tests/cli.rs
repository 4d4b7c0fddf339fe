#![allow(clippy::unwrap_used, clippy::expect_used)]
//! System tests of the `tandem` binary's offline commands: exit codes and output as the README
//! promises them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .args(args)
        .output()
        .expect("run tandem")
}

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../sip-msg/tests/data/rfc4475")
        .join(name)
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn lint_ok_files_exit_zero() {
    let f = corpus("wsinv.dat");
    let o = tandem(&["sip", "lint", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), format!("{}: ok\n", f.display()));
}

#[test]
fn lint_prints_status_and_reason_or_drop_and_exits_one() {
    let files = ["wsinv.dat", "badvers.dat", "mismatch01.dat", "bigcode.dat"].map(corpus);
    let args: Vec<&str> = ["sip", "lint"]
        .into_iter()
        .chain(files.iter().map(|f| f.to_str().unwrap()))
        .collect();
    let o = tandem(&args);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[0].ends_with(": ok"));
    assert!(
        lines[1].ends_with(": 505 Version Not Supported"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].ends_with(": 400 Bad Request (CSeq method does not match request method)"),
        "{}",
        lines[2]
    );
    assert!(lines[3].contains(": drop "), "{}", lines[3]);
}

#[test]
fn lint_usage_errors_exit_two() {
    assert_eq!(tandem(&["sip", "lint"]).status.code(), Some(2));
    assert_eq!(
        tandem(&["sip", "lint", "/nonexistent/file.sip"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn lint_survives_arbitrary_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, bytes) in [
        &b""[..],
        b"\r\n\r\n",
        b"\xff\xfe\x00",
        b"INVITE",
        b"SIP/2.0 200",
    ]
    .iter()
    .enumerate()
    {
        let p = dir.path().join(format!("{i}.sip"));
        std::fs::write(&p, bytes).unwrap();
        paths.push(p);
    }
    let big = dir.path().join("big.sip");
    std::fs::write(&big, vec![b'A'; 200_000]).unwrap();
    paths.push(big);
    let args: Vec<&str> = ["sip", "lint"]
        .into_iter()
        .chain(paths.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let o = tandem(&args);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stdout(&o).lines().count(), paths.len());
}

#[test]
fn check_config_names_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[sip]\nlisten = \"127.0.0.1:5070\"\n").unwrap();
    let o = tandem(&["check-config", good.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[sip]\nlisten = \"127.0.0.1:5070\"\n\n[http]\nlistn = \"x\"\n",
    )
    .unwrap();
    let o = tandem(&["check-config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(":5:") && err.contains("listn"), "{err}");
}

#[test]
fn example_config_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tandem.example.toml");
    let o = tandem(&["check-config", example.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn dtmf_generate_then_detect() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("d.wav");
    let o = tandem(&[
        "media",
        "dtmf-generate",
        "0123456789*#ABCD",
        "-o",
        wav.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = tandem(&["media", "dtmf-detect", wav.to_str().unwrap()]);
    assert_eq!(stdout(&o).trim(), "0123456789*#ABCD");
}

#[test]
fn media_mix_writes_a_wav_and_rejects_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.wav");
    let o = tandem(&["media", "dtmf-generate", "5", "-o", a.to_str().unwrap()]);
    assert!(o.status.success());
    let out = dir.path().join("mix.wav");
    let o = tandem(&[
        "media",
        "mix",
        "--codec",
        "g722",
        "--jitter",
        "30",
        "--loss",
        "5",
        a.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::metadata(&out).unwrap().len() > 44);
    let not_wav = dir.path().join("x.wav");
    std::fs::write(&not_wav, b"not a wav").unwrap();
    let o = tandem(&[
        "media",
        "mix",
        "--codec",
        "pcmu",
        not_wav.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(!String::from_utf8_lossy(&o.stderr).is_empty());
}
