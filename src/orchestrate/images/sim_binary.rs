//! Finds the `interop-sim` binary and packages it so that it runs inside the
//! bookworm sim image whatever distribution built it: a dynamically linked
//! binary travels with the host's loader and libraries.

use std::path::{Path, PathBuf};

use super::context::BuildContext;
use super::ImagesError;

pub const SIM_BINARY_NAME: &str = "interop-sim";
/// Environment variable naming the binary explicitly.
pub const SIM_BINARY_ENV: &str = "INTEROP_SIM_BINARY";
/// Where the binary, its loader and libraries live inside the image.
const IMAGE_DIR: &str = "/usr/local/lib/interop-sim";

/// Finds the simulator binary: the explicit path, else `$INTEROP_SIM_BINARY`,
/// else next to the running executable (a cargo-installed runner or
/// target/<profile>/), or one level up (test binaries live in deps/).
pub fn locate(explicit: Option<&Path>) -> Result<PathBuf, ImagesError> {
    if let Some(path) = explicit {
        return check_file(path);
    }
    if let Some(path) = std::env::var_os(SIM_BINARY_ENV).filter(|p| !p.is_empty()) {
        return check_file(Path::new(&path));
    }
    let exe = std::env::current_exe()
        .map_err(|e: std::io::Error| ImagesError::io("find the running executable", e))?;
    let candidates: Vec<PathBuf> = candidates_near(&exe);
    candidates
        .iter()
        .find(|candidate: &&PathBuf| candidate.is_file())
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|c: &PathBuf| c.display().to_string()).collect();
            ImagesError::SimBinary(format!(
                "no {SIM_BINARY_NAME} binary at {} (build it with `cargo build --release --bin {SIM_BINARY_NAME}`, or set {SIM_BINARY_ENV})",
                looked.join(" or ")
            ))
        })
}

fn candidates_near(exe: &Path) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(dir) = exe.parent() {
        candidates.push(dir.join(SIM_BINARY_NAME));
        if dir.file_name().is_some_and(|name| name == "deps") {
            if let Some(profile_dir) = dir.parent() {
                candidates.push(profile_dir.join(SIM_BINARY_NAME));
            }
        }
    }
    candidates
}

fn check_file(path: &Path) -> Result<PathBuf, ImagesError> {
    if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(ImagesError::SimBinary(format!(
            "{} is not a file",
            path.display()
        )))
    }
}

/// Why an ELF file could not be read.
#[derive(Debug, PartialEq, Eq)]
pub struct ElfError(pub String);

/// The program interpreter (dynamic loader) an ELF executable asks for, or
/// `None` for a statically linked one; the ELF is read by goblin.
pub fn elf_interpreter(bytes: &[u8]) -> Result<Option<String>, ElfError> {
    use goblin::elf::program_header::PT_INTERP;
    let elf = goblin::elf::Elf::parse(bytes).map_err(|e| ElfError(e.to_string()))?;
    // goblin leaves out an interpreter it cannot read; a binary that asks
    // for one must not pass for a static one.
    let asks = elf.program_headers.iter().find(|h| h.p_type == PT_INTERP);
    match (asks, elf.interpreter) {
        (_, Some(path)) => Ok(Some(path.to_string())),
        (None, None) => Ok(None),
        (Some(h), None) => Err(ElfError(format!(
            "truncated ELF file (the interpreter path at bytes {}..+{} is missing)",
            h.p_offset, h.p_filesz
        ))),
    }
}

/// A library the loader lists as not found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("library {0} not found")]
pub struct MissingLibrary(pub String);

/// Library paths from the loader's `--list` output (the format `ldd` prints).
/// Virtual objects without a file (the vDSO) are skipped; a missing library
/// is an error.
pub fn parse_library_list(listing: &str) -> Result<Vec<PathBuf>, MissingLibrary> {
    let mut libraries: Vec<PathBuf> = Vec::new();
    for line in listing
        .lines()
        .map(str::trim)
        .filter(|l: &&str| !l.is_empty())
    {
        let target = match line.split_once("=>") {
            Some((name, rest)) => {
                let rest = rest.trim();
                if rest.starts_with("not found") {
                    return Err(MissingLibrary(name.trim().to_string()));
                }
                rest
            }
            None => line,
        };
        let path = target.split_whitespace().next().unwrap_or_default();
        if path.starts_with('/') {
            libraries.push(PathBuf::from(path));
        }
    }
    Ok(libraries)
}

/// Adds the binary (and, when dynamic, its loader and libraries) plus the
/// `interop-sim.sh` wrapper to a build context.
pub fn add_to_context(binary: &Path, context: &mut BuildContext) -> Result<(), ImagesError> {
    let bytes = std::fs::read(binary)
        .map_err(|e: std::io::Error| ImagesError::io(format!("read {}", binary.display()), e))?;
    let interpreter = elf_interpreter(&bytes).map_err(|ElfError(why)| {
        ImagesError::SimBinary(format!("{} is unusable: {why}", binary.display()))
    })?;
    context.add_file("interop-sim/interop-sim", 0o755, bytes);
    let wrapper = match interpreter {
        None => format!("#!/bin/sh\nexec {IMAGE_DIR}/interop-sim \"$@\"\n"),
        Some(loader) => add_libraries(binary, Path::new(&loader), context)?,
    };
    context.add_file("interop-sim.sh", 0o755, wrapper.into_bytes());
    Ok(())
}

fn add_libraries(
    binary: &Path,
    loader: &Path,
    context: &mut BuildContext,
) -> Result<String, ImagesError> {
    let output = std::process::Command::new(loader)
        .arg("--list")
        .arg(binary)
        .output()
        .map_err(|e: std::io::Error| {
            ImagesError::SimBinary(format!(
                "{} is dynamically linked and its loader {} cannot list its libraries: {e}",
                binary.display(),
                loader.display()
            ))
        })?;
    if !output.status.success() {
        return Err(ImagesError::SimBinary(format!(
            "{} --list {} failed: {}",
            loader.display(),
            binary.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let listing = String::from_utf8_lossy(&output.stdout);
    let libraries = parse_library_list(&listing)
        .map_err(|why| ImagesError::SimBinary(format!("{}: {why}", binary.display())))?;
    let loader_name = file_name(loader)?;
    let mut bundle: Vec<PathBuf> = nss_companions(&libraries);
    bundle.extend(libraries);
    bundle.push(loader.to_path_buf());
    for library in &bundle {
        let content = std::fs::read(library).map_err(|e: std::io::Error| {
            ImagesError::io(format!("read library {}", library.display()), e)
        })?;
        let name = file_name(library)?;
        let dir = if name == loader_name {
            "interop-sim"
        } else {
            "interop-sim/lib"
        };
        context.add_file(&format!("{dir}/{name}"), 0o755, content);
    }
    // The host's loader and libraries, not the image's, so the binary runs
    // whichever glibc the image happens to have. Child processes (tc, nft,
    // tcpdump) still use the image's own libraries.
    Ok(format!(
        "#!/bin/sh\nexec {IMAGE_DIR}/{loader_name} --library-path {IMAGE_DIR}/lib {IMAGE_DIR}/interop-sim \"$@\"\n"
    ))
}

/// Name-service modules glibc loads at run time (the loader does not list
/// them), taken from the bundled libc's directory: a bundled libc must not
/// load the image's copies, which may belong to another glibc version.
pub fn nss_companions(libraries: &[PathBuf]) -> Vec<PathBuf> {
    const COMPANIONS: [&str; 3] = ["libnss_files.so.2", "libnss_dns.so.2", "libresolv.so.2"];
    let Some(libc_dir) = libraries
        .iter()
        .find(|lib: &&PathBuf| lib.file_name().is_some_and(|n| n == "libc.so.6"))
        .and_then(|lib: &PathBuf| lib.parent())
    else {
        return Vec::new();
    };
    COMPANIONS
        .iter()
        .map(|name: &&str| libc_dir.join(name))
        .filter(|path: &PathBuf| path.is_file() && !libraries.contains(path))
        .collect()
}

fn file_name(path: &Path) -> Result<String, ImagesError> {
    path.file_name()
        .and_then(|name| name.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            ImagesError::SimBinary(format!("{} has no usable file name", path.display()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn elf64_with_interp(interp: &[u8]) -> Vec<u8> {
        let mut bytes = vec![0u8; 0x40 + 2 * 0x38];
        bytes[..4].copy_from_slice(b"\x7fELF");
        bytes[4] = 2;
        bytes[5] = 1;
        bytes[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        bytes[0x36..0x38].copy_from_slice(&0x38u16.to_le_bytes());
        bytes[0x38..0x3a].copy_from_slice(&2u16.to_le_bytes());
        // First header: PT_LOAD (1), second: PT_INTERP (3).
        bytes[0x40..0x44].copy_from_slice(&1u32.to_le_bytes());
        let second = 0x40 + 0x38;
        bytes[second..second + 4].copy_from_slice(&3u32.to_le_bytes());
        let offset = bytes.len() as u64;
        bytes[second + 0x08..second + 0x10].copy_from_slice(&offset.to_le_bytes());
        bytes[second + 0x20..second + 0x28].copy_from_slice(&(interp.len() as u64).to_le_bytes());
        bytes.extend_from_slice(interp);
        bytes
    }

    #[test]
    fn finds_interpreter_of_synthetic_elf() {
        let bytes = elf64_with_interp(b"/lib64/ld-linux-x86-64.so.2\0");
        assert_eq!(
            elf_interpreter(&bytes),
            Ok(Some("/lib64/ld-linux-x86-64.so.2".to_string()))
        );
    }

    #[test]
    fn static_elf_has_no_interpreter() {
        let mut bytes = elf64_with_interp(b"/x\0");
        let second = 0x40 + 0x38;
        bytes[second..second + 4].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(elf_interpreter(&bytes), Ok(None));
    }

    #[test]
    fn rejects_non_elf_and_truncated_input() {
        assert!(elf_interpreter(b"#!/bin/sh\n").is_err());
        let mut bytes = elf64_with_interp(b"/lib/ld.so\0");
        bytes.truncate(bytes.len() - 4);
        assert!(elf_interpreter(&bytes).is_err());
        let mut huge = elf64_with_interp(b"/x\0");
        huge[0x20..0x28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(elf_interpreter(&huge).is_err());
    }

    #[test]
    fn reads_the_running_test_binary() {
        let exe = std::env::current_exe().unwrap();
        let bytes = std::fs::read(exe).unwrap();
        // Whatever the toolchain, the answer must be a parse, not an error.
        let interp = elf_interpreter(&bytes).unwrap();
        if let Some(path) = interp {
            assert!(path.starts_with('/'), "{path}");
        }
    }

    #[test]
    fn parses_loader_listing() {
        let listing = "\tlinux-vdso.so.1 (0x00007ffd4b5f2000)\n\
            \tlibgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0c1)\n\
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0c0)\n\
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f0c2)\n";
        assert_eq!(
            parse_library_list(listing).unwrap(),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libgcc_s.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn nss_modules_come_from_the_libc_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libc.so.6"), "").unwrap();
        std::fs::write(dir.path().join("libnss_files.so.2"), "").unwrap();
        std::fs::write(dir.path().join("libresolv.so.2"), "").unwrap();
        let libraries = vec![
            dir.path().join("libc.so.6"),
            dir.path().join("libresolv.so.2"),
        ];
        assert_eq!(
            nss_companions(&libraries),
            vec![dir.path().join("libnss_files.so.2")]
        );
        assert!(nss_companions(&[PathBuf::from("/x/libm.so.6")]).is_empty());
    }

    #[test]
    fn missing_library_is_an_error() {
        let listing = "\tlibpcap.so.0.8 => not found\n";
        assert!(parse_library_list(listing)
            .unwrap_err()
            .to_string()
            .contains("libpcap"));
    }

    #[test]
    fn candidates_include_profile_dir_for_test_binaries() {
        let found = candidates_near(Path::new("/t/target/release/deps/images-123"));
        assert_eq!(
            found,
            vec![
                PathBuf::from("/t/target/release/deps/interop-sim"),
                PathBuf::from("/t/target/release/interop-sim"),
            ]
        );
        let installed = candidates_near(Path::new("/root/.cargo/bin/interop-runner"));
        assert_eq!(
            installed,
            vec![PathBuf::from("/root/.cargo/bin/interop-sim")]
        );
    }

    #[test]
    fn explicit_path_must_exist() {
        assert!(locate(Some(Path::new("/nonexistent/interop-sim"))).is_err());
    }
}
