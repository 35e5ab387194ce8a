//! `inspect FILE…`: judge certificate files without any network, as the given role (and host).

use super::{finish, paths, InspectArgs};
use crate::engine;
use crate::error::Result;
use crate::session::{InspectContext, MaterialRefs, Session, TargetKind, TargetRun};

pub fn run_inspect(args: &InspectArgs) -> Result<i32> {
    let material = MaterialRefs {
        password: args.password.password_ref(),
        ca: paths(&args.ca),
        client_ca: paths(&args.diagnosis.client_ca),
        policy: args.diagnosis.policy.as_ref().map(|p| p.display().to_string()),
        azure: paths(&args.diagnosis.azure),
        offline: args.diagnosis.offline,
        deployment_certs: args.diagnosis.deployment_cert.clone(),
        named_values: args.diagnosis.named_value.clone(),
        forward_cert: args.diagnosis.forward_cert.clone(),
        ..Default::default()
    };
    let files = paths(&args.files);
    let run = TargetRun {
        name: files.join(", "),
        kind: TargetKind::Inspect,
        files,
        material,
        inspect: Some(InspectContext {
            role: args.role.into(),
            host: args.host.clone(),
            trust: String::new(),
            origins: vec![],
        }),
        expiring_days: Some(args.diagnosis.expiring_days),
        ..Default::default()
    };
    // A file that does not load is an input error (exit 2), as with every command line.
    let passwords = engine::Passwords::new(engine::PasswordPrompt::Terminal);
    let loaded = engine::load_with(&run.material, &passwords)?;
    let run = engine::run_inspect(run, &loaded, &passwords)?;
    finish(&Session::new(vec![run]).with_command("inspect"), &args.output, &super::ViewArgs::default(), &args.session)
}
