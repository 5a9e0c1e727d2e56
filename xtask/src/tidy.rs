//! Architecture checks over `cargo metadata`: the dependency direction written in
//! ARCHITECTURE.md.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The layer of a workspace crate, from its directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Layer {
    /// Leaf crates with no internal dependencies (clock, model, sigv4).
    Foundation,
    /// Model-driven wire protocols.
    Wire,
    /// Storage seams.
    Storage,
    /// Engines: no AWS shapes.
    Engine,
    /// One crate per AWS service: the only mapping between AWS shapes and domain types.
    Service,
    /// The binary: edge, config, routing.
    Server,
    Tooling,
}

pub fn layer_of(manifest_dir: &str) -> Layer {
    let p = manifest_dir.replace('\\', "/");
    if p.contains("/crates/services/") {
        Layer::Service
    } else if p.contains("/crates/engines/") {
        Layer::Engine
    } else if p.contains("/crates/storage") {
        Layer::Storage
    } else if p.ends_with("/crates/wire") {
        Layer::Wire
    } else if p.ends_with("/crates/server") {
        Layer::Server
    } else if p.ends_with("/xtask") || p.ends_with("/crates/bench") {
        Layer::Tooling
    } else {
        Layer::Foundation
    }
}

/// May a crate of layer `from` depend on a crate of layer `to` (in normal dependencies)?
pub fn allowed(from: Layer, to: Layer) -> bool {
    use Layer::*;
    match from {
        Foundation => false,
        Wire => matches!(to, Foundation),
        Storage => matches!(to, Foundation),
        Engine => matches!(to, Foundation | Storage | Engine),
        Service => matches!(to, Foundation | Wire | Storage | Engine),
        Server => true,
        Tooling => true,
    }
}

/// Crates of the foundation layer that engines must not see: they carry AWS shapes.
pub const AWS_SHAPED: &[&str] = &["nephoscope-model"];

pub fn violations(root: &Path) -> Vec<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root)
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let packages = meta["packages"].as_array().expect("packages");
    let dirs: BTreeMap<&str, String> = packages
        .iter()
        .map(|p| {
            let manifest = p["manifest_path"].as_str().unwrap();
            let dir = Path::new(manifest).parent().unwrap().display().to_string();
            (p["name"].as_str().unwrap(), dir)
        })
        .collect();
    let mut bad = Vec::new();
    for p in packages {
        let name = p["name"].as_str().unwrap();
        let from = layer_of(&dirs[name]);
        for d in p["dependencies"].as_array().unwrap() {
            let dep = d["name"].as_str().unwrap();
            let Some(dep_dir) = dirs.get(dep) else {
                continue;
            };
            if d["kind"].as_str() == Some("dev") {
                continue;
            }
            let to = layer_of(dep_dir);
            if !allowed(from, to) {
                bad.push(format!(
                    "{name} ({from:?}) must not depend on {dep} ({to:?})"
                ));
            }
            if from == Layer::Engine && AWS_SHAPED.contains(&dep) {
                bad.push(format!(
                    "{name} is an engine and must not see AWS shapes ({dep})"
                ));
            }
        }
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_direction_holds() {
        let v = violations(&crate::workspace_root());
        assert!(
            v.is_empty(),
            "dependency direction violated:\n{}",
            v.join("\n")
        );
    }

    #[test]
    fn layer_rules_table() {
        use Layer::*;
        for (from, to, ok) in [
            (Wire, Foundation, true),
            (Wire, Service, false),
            (Engine, Wire, false),
            (Engine, Storage, true),
            (Service, Wire, true),
            (Service, Server, false),
            (Foundation, Foundation, false),
        ] {
            assert_eq!(allowed(from, to), ok, "{from:?} -> {to:?}");
        }
        assert_eq!(layer_of("/r/crates/services/logs"), Service);
        assert_eq!(layer_of("/r/crates/wire"), Wire);
        assert_eq!(layer_of("/r/crates/bench"), Tooling);
    }
}
