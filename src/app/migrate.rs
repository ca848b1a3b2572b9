//! `adapter config migrate`: reads legacy config files, runs the converter
//! (`config::migrate`), reports every change on stderr, and prints, diffs or writes the
//! current-format files.

use crate::config::migrate::{self, Input, Migration, Options, Output, OutputRole, Role};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Convert legacy config files (the apiVersion/kind/metadata/spec envelopes of v0.1.x and
    /// earlier) into the current format, keeping comments and key order. Every change is
    /// reported on stderr with its line. One output file goes to stdout as is; several (a
    /// merged file splits into an adapter and a task config) go to stdout as a YAML stream,
    /// each document headed `--- # <file name>`: use -o DIR to get separate files.
    Migrate(MigrateArgs),
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Legacy files: an AdapterConfig (adapter file or merged single file), a debug dump
    /// (kind: Config), and/or an AdapterTaskConfig
    #[arg(value_name = "FILE", required_unless_present = "task_config")]
    pub files: Vec<PathBuf>,
    /// The task file of a two-file pair (refused if it is not a task file)
    #[arg(short = 't', long = "task-config", value_name = "FILE")]
    pub task_config: Option<PathBuf>,
    /// Write the converted files into DIR (created if missing), under their own names; a task
    /// file split out of a merged file is task-config.yaml; ref files are copied beside it
    #[arg(short = 'o', long = "output-dir", value_name = "DIR", conflicts_with_all = ["in_place", "diff"])]
    pub output_dir: Option<PathBuf>,
    /// Write the converted files back over the inputs, keeping each original as FILE.bak
    #[arg(long = "in-place", conflicts_with = "diff")]
    pub in_place: bool,
    /// Print a unified diff of each file instead of the files
    #[arg(long = "diff")]
    pub diff: bool,
    /// Keep keys the legacy adapter ignored but the current one acts on (post-action and
    /// payload `when`, capture `default`, `lifecycle`, ...): behaviour will differ
    #[arg(long = "keep-inert")]
    pub keep_inert: bool,
    /// Move task keys found in an adapter file (params, preconditions, resources, post: inert
    /// there in v0.1.x) into a task file instead of dropping them
    #[arg(long = "split")]
    pub split: bool,
    /// Remove discovery.namespace: "*" (a literal namespace name in every version) instead of
    /// keeping it with a warning
    #[arg(long = "fix-star-namespace")]
    pub fix_star_namespace: bool,
    /// Write this adapter.version (default: the legacy one, omitted when this binary would
    /// refuse it)
    #[arg(long = "set-version", value_name = "VERSION")]
    pub set_version: Option<String>,
}

struct FsRefs;

impl migrate::RefReader for FsRefs {
    fn read(&self, dir: &Path, rel: &str) -> std::io::Result<String> {
        read_bounded(&dir.join(rel))
    }
}

fn read_bounded(path: &Path) -> std::io::Result<String> {
    let len = std::fs::metadata(path)?.len();
    if len > migrate::MAX_INPUT_BYTES as u64 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} bytes", migrate::MAX_INPUT_BYTES),
        ));
    }
    std::fs::read_to_string(path)
}

/// Runs `config <command>`.
pub fn run(cmd: &ConfigCommand) -> Result<i32> {
    match cmd {
        ConfigCommand::Migrate(args) => run_migrate(args),
    }
}

fn run_migrate(args: &MigrateArgs) -> Result<i32> {
    let mut inputs = Vec::new();
    let given = args.files.iter().map(|f| (f, Role::Any));
    for (path, role) in given.chain(args.task_config.iter().map(|t| (t, Role::Task))) {
        let text = read_bounded(path).with_context(|| format!("reading {}", path.display()))?;
        inputs.push(Input {
            path: path.clone(),
            text,
            role,
        });
    }
    let opts = Options {
        keep_inert: args.keep_inert,
        fix_star_namespace: args.fix_star_namespace,
        split: args.split,
        set_version: args.set_version.clone(),
        binary_version: crate::version::VERSION.to_string(),
    };
    let m = migrate::migrate(&inputs, &opts, &FsRefs).map_err(super::message)?;
    let mut err = std::io::stderr().lock();
    for c in &m.changes {
        writeln!(err, "{c}")?;
    }
    if args.diff {
        print_diff(&m)?;
    } else if let Some(dir) = &args.output_dir {
        write_dir(&m, dir, &inputs, &mut err)?;
    } else if args.in_place {
        write_in_place(&m, &mut err)?;
    } else {
        print_stdout(&m)?;
    }
    writeln!(err, "{} change(s)", m.changes.len())?;
    Ok(0)
}

fn shown(p: &Path) -> String {
    p.display().to_string()
}

fn print_diff(m: &Migration) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for o in m.outputs.iter().filter(|o| o.changed()) {
        let (old_name, old) = match &o.original {
            Some(t) => (shown(&o.path), t.as_str()),
            None => ("/dev/null".to_string(), ""),
        };
        out.write_all(
            crate::textdiff::unified(&old_name, &shown(&o.path), old, &o.text).as_bytes(),
        )?;
    }
    Ok(())
}

fn print_stdout(m: &Migration) -> Result<()> {
    let files: Vec<&Output> = m
        .outputs
        .iter()
        .filter(|o| o.role != OutputRole::Ref || o.changed())
        .collect();
    let mut out = std::io::stdout().lock();
    if let [only] = files.as_slice() {
        out.write_all(only.text.as_bytes())?;
        return Ok(());
    }
    for o in files {
        writeln!(out, "--- # {}", shown(&o.relative))?;
        out.write_all(o.text.as_bytes())?;
    }
    Ok(())
}

fn write_dir(m: &Migration, dir: &Path, inputs: &[Input], err: &mut impl Write) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let canon = |p: &Path| std::fs::canonicalize(p).ok();
    for o in &m.outputs {
        let target = dir.join(&o.relative);
        let existing = canon(&target);
        if existing.is_some() && inputs.iter().any(|i| canon(&i.path) == existing) {
            bail!(
                "{} is an input file; use --in-place to convert it in place (with a backup)",
                target.display()
            );
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, &o.text)
            .with_context(|| format!("writing {}", target.display()))?;
        writeln!(err, "wrote {}", target.display())?;
    }
    Ok(())
}

fn write_in_place(m: &Migration, err: &mut impl Write) -> Result<()> {
    let writes: Vec<&Output> = m.outputs.iter().filter(|o| o.changed()).collect();
    for o in &writes {
        if o.original.is_some() {
            let backup = backup_path(&o.path);
            if backup.exists() {
                bail!(
                    "{} already exists; move it away before converting {} in place",
                    backup.display(),
                    o.path.display()
                );
            }
        } else if o.path.exists() {
            bail!(
                "{} already exists; the task config split out of {} would overwrite it (use -o DIR)",
                o.path.display(),
                o.source.display()
            );
        }
    }
    for o in writes {
        if o.original.is_some() {
            let backup = backup_path(&o.path);
            std::fs::copy(&o.path, &backup)
                .with_context(|| format!("writing {}", backup.display()))?;
            writeln!(err, "backup {}", backup.display())?;
        }
        std::fs::write(&o.path, &o.text)
            .with_context(|| format!("writing {}", o.path.display()))?;
        writeln!(err, "wrote {}", o.path.display())?;
    }
    Ok(())
}

fn backup_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".bak");
    PathBuf::from(s)
}
