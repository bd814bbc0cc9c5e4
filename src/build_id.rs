//! The build script: names this build of procsite by everything it is made of (its
//! sources, themes and documents, its locked dependencies, the compiler and how it
//! was asked to compile), as `PROCSITE_BUILD_ID`. Two builds with the same name
//! behave alike, wherever and whenever they were built, so what one renders and
//! keeps (`render::memo`) another can use: on every CI runner that builds or
//! installs the same procsite.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

/// Every file under `dir`, sorted.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut paths = Vec::new();
    for dir in ["src", "themes", "docs"] {
        println!("cargo:rerun-if-changed={dir}");
        files(&root.join(dir), &mut paths);
    }
    for file in ["Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={file}");
        paths.push(root.join(file));
    }
    paths.sort();
    // Two SipHash sums of everything, told apart by their first field: 128 bits.
    let mut sums = [1u8, 2].map(|n| {
        let mut h = std::hash::DefaultHasher::new();
        h.write_u8(n);
        h
    });
    let mut field = |bytes: &[u8]| {
        for h in &mut sums {
            h.write_usize(bytes.len());
            h.write(bytes);
        }
    };
    for path in &paths {
        field(
            path.strip_prefix(&root)
                .unwrap_or(path)
                .to_string_lossy()
                .as_bytes(),
        );
        field(&std::fs::read(path).unwrap_or_default());
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .map(|o| o.stdout)
        .unwrap_or_default();
    field(&version);
    for var in [
        "TARGET",
        "PROFILE",
        "OPT_LEVEL",
        "DEBUG",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_CFG_TARGET_FEATURE",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
        field(std::env::var(var).unwrap_or_default().as_bytes());
    }
    let [a, b] = sums.map(|h| h.finish());
    println!("cargo:rustc-env=PROCSITE_BUILD_ID={a:016x}{b:016x}");
}
