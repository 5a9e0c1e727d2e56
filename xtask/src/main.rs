//! `cargo xtask codegen` regenerates `crates/model/src/generated/` from `models/`;
//! `cargo xtask codegen --check` fails when the committed files are stale;
//! `cargo xtask tidy` checks the dependency direction of ARCHITECTURE.md.

mod codegen;
mod tidy;

use std::path::PathBuf;
use std::process::ExitCode;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("codegen") => {
            let check = args.iter().any(|a| a == "--check");
            let root = workspace_root();
            let mut stale = Vec::new();
            for (path, text) in codegen::generate_all(&root) {
                let current = std::fs::read_to_string(&path).unwrap_or_default();
                if current != text {
                    if check {
                        stale.push(path.display().to_string());
                    } else {
                        std::fs::write(&path, text).expect("write generated file");
                        println!("wrote {}", path.display());
                    }
                }
            }
            if !stale.is_empty() {
                eprintln!("stale generated files (run `cargo xtask codegen`): {stale:?}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Some("tidy") => {
            let v = tidy::violations(&workspace_root());
            for line in &v {
                eprintln!("{line}");
            }
            if v.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        _ => {
            eprintln!("usage: cargo xtask codegen [--check] | cargo xtask tidy");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_files_are_fresh() {
        let root = super::workspace_root();
        for (path, text) in super::codegen::generate_all(&root) {
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                current == text,
                "{} is stale: run `cargo xtask codegen`",
                path.display()
            );
        }
    }
}
