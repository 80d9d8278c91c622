//! `replenish init`: writes a commented `replenish.toml` and a `.env.example` naming every secret.
//! Refuses to overwrite either file (exit 2), so a working configuration is never lost.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::app::UsageError;
use crate::cli::InitArgs;

pub fn exec(args: &InitArgs) -> Result<ExitCode> {
    let toml_path = args.dir.join("replenish.toml");
    let env_path = args.dir.join(".env.example");
    for path in [&toml_path, &env_path] {
        if path.exists() {
            return Err(UsageError(format!(
                "{} already exists; not overwriting it (move it away first)",
                path.display()
            ))
            .into());
        }
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    for (path, text) in [
        (&toml_path, crate::config::template_toml()),
        (&env_path, crate::config::template_env()),
    ] {
        // create_new: if another process created the file meanwhile, we still never overwrite it.
        // Owner-only (0600): the config may come to hold secrets.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    println!("wrote {}", toml_path.display());
    println!("wrote {}", env_path.display());
    println!(
        "next: fill in [shopify] shop and [locations] default, copy .env.example to .env and fill in the secrets (or export them), then run `replenish doctor`"
    );
    Ok(ExitCode::SUCCESS)
}
