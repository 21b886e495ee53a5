// Build-script helper that links chosen binaries fully statically against
// glibc, so they run in any Linux image whatever the build host's
// distribution. Include it from a build script:
//
//     include!("crates/netsim/build_support/static_link.rs");
//     fn main() { link_static_bins(&["interop-sim"]); }
//
// Why this way: `-C target-feature=+crt-static` applies to a whole build
// (build scripts and proc macros included, which breaks them), and rustc
// names `-lgcc_s -lc -lm ...` with `-Bdynamic`. Here those names are
// shadowed, for the chosen binaries only, by linker scripts that point at the
// static archives, and the binary is linked as a static PIE.

#[allow(dead_code)]
fn link_static_bins(bins: &[&str]) {
    println!("cargo:rerun-if-changed=build.rs");
    let target: String = std::env::var("TARGET").unwrap_or_default();
    let features: String = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    if !target.ends_with("-linux-gnu") || features.split(',').any(|f| f == "crt-static") {
        return;
    }
    let out_dir: std::path::PathBuf = match std::env::var("OUT_DIR") {
        Ok(dir) => std::path::PathBuf::from(dir).join("static-libs"),
        Err(_) => return,
    };
    match write_static_lib_scripts(&out_dir) {
        Ok(()) => {
            for bin in bins {
                println!("cargo:rustc-link-arg-bin={bin}=-L{}", out_dir.display());
                println!("cargo:rustc-link-arg-bin={bin}=-static-pie");
            }
        }
        Err(why) => println!("cargo:warning=linking {} dynamically: {why}", bins.join(", ")),
    }
}

#[allow(dead_code)]
fn write_static_lib_scripts(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let runtime: String = format!("{} {}", static_archive("libgcc_eh.a")?, static_archive("libgcc.a")?);
    let mut scripts: Vec<(String, String)> = vec![
        ("libgcc_s.so".to_string(), runtime.clone()),
        ("libc.so".to_string(), format!("{} {runtime}", static_archive("libc.a")?)),
    ];
    for lib in ["m", "dl", "pthread", "rt", "util"] {
        scripts.push((format!("lib{lib}.so"), static_archive(&format!("lib{lib}.a"))?));
    }
    for (name, inputs) in scripts {
        std::fs::write(dir.join(&name), format!("GROUP ( {inputs} )\n"))
            .map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    Ok(())
}

/// Full path of a static archive as the C compiler would find it.
#[allow(dead_code)]
fn static_archive(name: &str) -> Result<String, String> {
    let cc: String = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let output: std::process::Output = std::process::Command::new(&cc)
        .arg(format!("-print-file-name={name}"))
        .output()
        .map_err(|e| format!("cannot run {cc}: {e}"))?;
    let path: String = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !std::path::Path::new(&path).is_absolute() || !std::path::Path::new(&path).exists() {
        return Err(format!("{name} not found (install the C library's static archives, e.g. libc6-dev)"));
    }
    Ok(path)
}
