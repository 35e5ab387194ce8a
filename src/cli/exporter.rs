//! `exporter --config FILE`: the targets file and its material loaded once, then served until
//! Ctrl-C / SIGTERM (the server is `crate::exporter`).

use super::{ExporterArgs, EXIT_OK};
use crate::engine::{self, LoadFailure, MaterialCache, PasswordPrompt};
use crate::error::{Error, Result};
use crate::targets::{self, TargetDefaults};

fn seconds(flag: &str, v: f64) -> Result<std::time::Duration> {
    if v > 0.0 && v.is_finite() && v <= 3600.0 {
        Ok(std::time::Duration::from_secs_f64(v))
    } else {
        Err(Error::Usage(format!("--{flag} {v}: must be more than 0 and at most 3600 seconds")))
    }
}

pub fn run_exporter(args: &ExporterArgs) -> Result<i32> {
    let limits = crate::exporter::Limits {
        max_concurrent: args.max_concurrent,
        queue_wait: seconds("queue-wait", args.queue_wait)?,
        probe_timeout: seconds("probe-timeout", args.probe_timeout)?,
    };
    let targets = targets::targets_from_file(&args.config, &TargetDefaults::default())?;
    let source = args.config.display().to_string();
    let mut cache = MaterialCache::new(PasswordPrompt::Terminal);
    let prepared = cache.prepare(targets, LoadFailure::Abort)?;
    let exporter = crate::exporter::Exporter::new(&source, prepared, limits)?;
    engine::runtime()?.block_on(crate::exporter::run(exporter, args.listen))?;
    Ok(EXIT_OK)
}
