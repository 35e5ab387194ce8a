//! What people paste instead of an az export, recognised before the export is read: a REST response
//! wrapper, a REST API specification example, an ARM template (written by hand, exported from the
//! portal, or compiled from Bicep), an ARM parameters file, or a Bicep source file.
//!
//! Wrappers are unwrapped. A template's resources are read with their `[parameters('x')]` and
//! `[concat(...)]` expressions resolved from the parameters' `defaultValue`s; anything else a deployment
//! would have to compute is refused in one line that names the field and the az command that exports
//! the deployed state. The rest get one line saying what the file is and which command to run instead.

use serde_json::{Map, Value};

use super::import::Problem;

/// The az commands that export what `--azure` reads, one per kind, as `--help` and docs list them.
pub const EXPORT_COMMANDS: &str = "az apim show -g RG -n NAME; \
az rest --method get --url https://management.azure.com/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.ApiManagement/service/NAME/certificates?api-version=2022-08-01; \
the same with /backends; \
az role assignment list --assignee PRINCIPAL_ID --all";

/// How the file was shaped, when it was not a plain export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// A plain az / ARM export.
    Export,
    /// `{"body": …}`, as REST clients and Logic Apps wrap a response.
    RestBody,
    /// An azure-rest-api-specs example (`{"parameters": …, "responses": {"200": {"body": …}}}`).
    SpecExample,
    /// An ARM deployment template.
    ArmTemplate,
    /// An ARM template that `bicep build` produced.
    BicepTemplate,
}

impl Shape {
    /// A note for [`super::AzureConfig::notes`], or none for a plain export.
    pub(super) fn note(self, origin: &str) -> Option<String> {
        let what = match self {
            Shape::Export => return None,
            Shape::RestBody => "a REST response wrapper ({\"body\": …}); its body was read",
            Shape::SpecExample => "a REST API specification example; its 200 response body was read",
            Shape::ArmTemplate => TEMPLATE_NOTE,
            Shape::BicepTemplate => BICEP_NOTE,
        };
        Some(format!("{origin}: {what}"))
    }
}

const TEMPLATE_NOTE: &str = "an ARM template: the configuration it would deploy, not what is deployed \
(no Key Vault status, certificates uploaded since are not in it); az apim show -g RG -n NAME exports the deployed service";
const BICEP_NOTE: &str = "an ARM template compiled from Bicep: the configuration it would deploy, not what is deployed \
(no Key Vault status, certificates uploaded since are not in it); az apim show -g RG -n NAME exports the deployed service";

/// Unwrap `root` to the export inside it. Errors are one line saying what the file is.
pub(super) fn unwrap(root: &Value) -> Result<(Value, Shape), Problem> {
    let Some(map) = root.as_object() else { return Ok((root.clone(), Shape::Export)) };
    let schema = map.get("$schema").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    if schema.contains("deploymentparameters") {
        return Err(format!(
            "an ARM parameters file, which holds deployment inputs, not the service's configuration; export the deployed service with {EXPORT_COMMANDS}"
        ));
    }
    if schema.contains("deploymenttemplate") || (map.contains_key("contentVersion") && map.contains_key("resources")) {
        let bicep = map
            .get("metadata")
            .and_then(|m| m.get("_generator"))
            .and_then(|g| g.get("name"))
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case("bicep"));
        let resources = read_template(map)?;
        return Ok((Value::Array(resources), if bicep { Shape::BicepTemplate } else { Shape::ArmTemplate }));
    }
    if map.contains_key("parameters") && map.get("responses").is_some_and(Value::is_object) {
        let body = map["responses"].get("200").and_then(|r| r.get("body")).filter(|b| !b.is_null());
        return match body {
            Some(body) => Ok((body.clone(), Shape::SpecExample)),
            None => Err("a REST API specification example without a 200 response body".to_string()),
        };
    }
    if map.len() <= 3 && map.get("body").is_some_and(|b| b.is_object() || b.is_array()) {
        // `{"statusCode": 200, "headers": {...}, "body": {...}}` and the bare `{"body": ...}`.
        return Ok((map["body"].clone(), Shape::RestBody));
    }
    Ok((root.clone(), Shape::Export))
}

/// One line for text that is not JSON but a Bicep source file.
pub(super) fn bicep_source_problem(text: &str) -> Option<Problem> {
    let looks_bicep = text.lines().map(str::trim_start).any(|l| {
        (l.starts_with("resource ") || l.starts_with("param ") || l.starts_with("targetScope")) && !l.starts_with('{')
    });
    (looks_bicep && text.contains("Microsoft.")).then(|| {
        format!(
            "a Bicep source file, not JSON: compile it with az bicep build --file FILE (and pass the .json), or export the deployed service with {EXPORT_COMMANDS}"
        )
    })
}

/// The template's resources (nested child resources flattened), with names and values resolved.
fn read_template(template: &Map<String, Value>) -> Result<Vec<Value>, Problem> {
    let params = template.get("parameters").and_then(Value::as_object).cloned().unwrap_or_default();
    let resolver = Resolver { params: &params, unresolved: Default::default() };
    let mut out = Vec::new();
    let Some(resources) = template.get("resources") else { return Ok(out) };
    // Bicep's symbolic-name templates (languageVersion 2.0) hold resources as an object.
    let list: Vec<(String, &Value)> = match resources {
        Value::Array(items) => items.iter().enumerate().map(|(i, r)| (format!("resources[{i}]"), r)).collect(),
        Value::Object(map) => map.iter().map(|(k, r)| (format!("resources.{k}"), r)).collect(),
        _ => return Err("resources: expected a list of resources".to_string()),
    };
    for (path, resource) in list {
        flatten(&resolver, resource, &path, None, &mut out)?;
    }
    let unresolved = resolver.unresolved.into_inner();
    let needed = unresolved.iter().find(|(path, _)| {
        let last = path.rsplit('.').next().unwrap_or(path);
        let last = last.split('[').next().unwrap_or(last);
        READ_FIELDS.contains(&last)
    });
    if let Some((path, expression)) = needed {
        return Err(format!(
            "an ARM template whose {path} is computed at deployment ({expression}), which the file cannot tell; export the deployed service with az apim show -g RG -n NAME"
        ));
    }
    Ok(out)
}

/// Push `resource` (and its nested `resources`) with the full type and the last name segment.
fn flatten(
    resolver: &Resolver<'_>,
    resource: &Value,
    path: &str,
    parent_type: Option<&str>,
    out: &mut Vec<Value>,
) -> Result<(), Problem> {
    let Some(map) = resource.as_object() else { return Err(format!("{path}: expected a resource object")) };
    let short_type = map.get("type").and_then(Value::as_str).unwrap_or_default();
    let full_type = match parent_type {
        Some(parent) if !short_type.contains('/') => format!("{parent}/{short_type}"),
        _ => short_type.to_string(),
    };
    let relevant = matches!(
        full_type.to_ascii_lowercase().as_str(),
        "microsoft.apimanagement/service"
            | "microsoft.apimanagement/service/certificates"
            | "microsoft.apimanagement/service/backends"
            | "microsoft.authorization/roleassignments"
    );
    if relevant {
        let mut resolved = Map::new();
        for (key, value) in map {
            if key == "resources" || key == "dependsOn" || key == "condition" || key == "copy" {
                continue;
            }
            if key == "apiVersion" || key == "location" || key == "tags" || key == "comments" {
                continue;
            }
            resolved.insert(key.clone(), resolver.value(value, &format!("{path}.{key}"))?);
        }
        if let Some(Value::String(name)) = resolved.get("name").cloned() {
            // Child resources are named `service/child`; policies use the last segment.
            let last = name.rsplit('/').next().unwrap_or(&name).to_string();
            resolved.insert("name".into(), Value::String(last));
        }
        resolved.insert("type".into(), Value::String(full_type.clone()));
        out.push(Value::Object(resolved));
    }
    if let Some(Value::Array(children)) = map.get("resources") {
        for (i, child) in children.iter().enumerate() {
            flatten(resolver, child, &format!("{path}.resources[{i}]"), Some(&full_type), out)?;
        }
    }
    Ok(())
}

struct Resolver<'a> {
    params: &'a Map<String, Value>,
    /// Paths of values the template computes at deployment, left `null`.
    unresolved: std::cell::RefCell<Vec<(String, String)>>,
}

/// Fields the reader uses: a computed value there means the file cannot answer.
const READ_FIELDS: &[&str] = &[
    "name",
    "type",
    "hostName",
    "negotiateClientCertificate",
    "enableClientCertificate",
    "secretIdentifier",
    "identityClientId",
    "url",
    "certificateIds",
    "certificate",
    "principalId",
    "scope",
    "roleDefinitionId",
    "roleDefinitionName",
    "keyVaultId",
    "thumbprint",
    "subject",
    "expiry",
    "storeName",
    "validateCertificateChain",
    "validateCertificateName",
    "gatewayUrl",
];

/// Fields never read: secrets are dropped before anything else sees them.
const SECRET_FIELDS: &[&str] = &["certificatePassword", "password", "data", "value"];

impl Resolver<'_> {
    fn value(&self, value: &Value, path: &str) -> Result<Value, Problem> {
        Ok(match value {
            Value::String(s) => self.string(s, path)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.value(v, &format!("{path}[{i}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| !SECRET_FIELDS.contains(&k.as_str()))
                    .map(|(k, v)| Ok((k.clone(), self.value(v, &format!("{path}.{k}"))?)))
                    .collect::<Result<_, Problem>>()?,
            ),
            other => other.clone(),
        })
    }

    /// A template string: literal, `[[`-escaped, or an expression this reader can evaluate.
    fn string(&self, s: &str, path: &str) -> Result<Value, Problem> {
        if let Some(escaped) = s.strip_prefix("[[") {
            return Ok(Value::String(format!("[{escaped}")));
        }
        let Some(expr) = s.strip_prefix('[').and_then(|e| e.strip_suffix(']')) else {
            return Ok(Value::String(s.to_string()));
        };
        let mut parser = Expr { text: expr.trim(), at: 0 };
        let value = parser.parse(self).and_then(|v| if parser.at_end() { Ok(v) } else { Err(()) });
        Ok(value.unwrap_or_else(|()| {
            self.unresolved.borrow_mut().push((path.to_string(), s.to_string()));
            Value::Null
        }))
    }

    fn parameter(&self, name: &str) -> Result<Value, ()> {
        let default = self.params.get(name).and_then(|p| p.get("defaultValue")).ok_or(())?;
        match default {
            Value::String(s) if s.starts_with('[') && !s.starts_with("[[") => Err(()),
            other => Ok(other.clone()),
        }
    }
}

/// The small part of the ARM expression language that exported templates use for names and switches:
/// string literals, `parameters('x')`, `concat(...)`, `true()`, `false()`.
struct Expr<'a> {
    text: &'a str,
    at: usize,
}

impl Expr<'_> {
    fn at_end(&mut self) -> bool {
        self.skip_space();
        self.at == self.text.len()
    }

    fn skip_space(&mut self) {
        while self.text[self.at..].starts_with(' ') {
            self.at += 1;
        }
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        if self.text[self.at..].starts_with(token) {
            self.at += token.len();
            true
        } else {
            false
        }
    }

    fn parse(&mut self, resolver: &Resolver<'_>) -> Result<Value, ()> {
        self.skip_space();
        if self.eat("'") {
            let rest = &self.text[self.at..];
            let mut literal = String::new();
            let mut chars = rest.char_indices();
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if rest[i + 1..].starts_with('\'') {
                        literal.push('\'');
                        chars.next();
                        continue;
                    }
                    self.at += i + 1;
                    return Ok(Value::String(literal));
                }
                literal.push(c);
            }
            return Err(());
        }
        let name_len = self.text[self.at..].find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(0);
        let function = self.text[self.at..self.at + name_len].to_ascii_lowercase();
        self.at += name_len;
        if !self.eat("(") {
            return Err(());
        }
        let mut args = Vec::new();
        if !self.eat(")") {
            loop {
                args.push(self.parse(resolver)?);
                if self.eat(")") {
                    break;
                }
                if !self.eat(",") {
                    return Err(());
                }
            }
        }
        match (function.as_str(), args.as_slice()) {
            ("parameters", [Value::String(name)]) => resolver.parameter(name),
            ("true", []) => Ok(Value::Bool(true)),
            ("false", []) => Ok(Value::Bool(false)),
            ("concat", parts) if parts.iter().all(Value::is_string) => {
                Ok(Value::String(parts.iter().filter_map(Value::as_str).collect()))
            }
            _ => Err(()),
        }
    }
}
