//! A vendor's XML Schema held against SOAP messages, for a fake that speaks SOAP (Workday): the `contract` module
//! does the same for OpenAPI descriptions.
//!
//! There is no maintained XML Schema validator in Rust, so libxml2's `xmllint --schema` does the checking
//! (Debian's `libxml2-utils`; `make test` installs it). Its schema comes from a WSDL's `<wsdl:types>`, extracted
//! once per process into the system's temporary folder (named by the WSDL's hash, so concurrent test processes
//! share it), with the WSDL's namespace declarations carried onto the `xsd:schema` element.
//!
//! Parsing a 3 MB schema costs xmllint 0.1 to 0.2 s, once per call if it were started for each message. So one
//! xmllint is kept per schema and process: it is started with the same named pipe given as its document many
//! times over, parses the schema once, and then validates whatever is written into the pipe next, each time,
//! closing with `<name> validates` or `<name> fails to validate` on its standard error; a message then takes
//! well under a millisecond (a page of a hundred workers, tens). Only well-formed XML is written to it (a
//! document that does not parse gets no closing line). Waiting on the pipe, xmllint would outlive the test
//! process; a shell holds it instead and ends it once its standard input, a pipe from this process, closes,
//! as it does when the process ends, however it ends.
//!
//! A SOAP envelope and its header are SOAP's, not the vendor's: what is validated is the element in the `Body`
//! (and the elements of a fault's `detail`), with every namespace declaration in scope kept.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, ChildStdin, Command, Stdio};
use std::sync::Mutex;

const SOAP_ENVELOPE: &str = "http://schemas.xmlsoap.org/soap/envelope/";
const XML_SCHEMA: &str = "http://www.w3.org/2001/XMLSchema";
/// How many documents one xmllint validates before another is started (its command line names the pipe this
/// many times).
const DOCUMENTS_PER_PROCESS: usize = 5_000;
/// The pipe's name, in its folder (the working directory of xmllint), as xmllint reports it.
const PIPE: &str = "doc";
/// The most problems kept of one message.
const MOST_PROBLEMS: usize = 5;
/// Runs xmllint on the schema (`$0`) and the documents (`$@`) with its standard error on the shell's, which the
/// shell itself lets go, and ends it when the shell's standard input closes, removing the pipe and its folder
/// (the shell's working directory).
const SUPERVISOR: &str = "exec 3>&2 2>/dev/null
xmllint --noout --nonet --schema \"$0\" \"$@\" 2>&3 3>&- </dev/null &
pid=$!
exec 3>&-
cat >/dev/null
kill \"$pid\"
wait \"$pid\"
rm -f -- \"$1\"
rmdir -- \"$PWD\"";

/// The XML Schema of a WSDL's types, and the xmllint that checks messages against it.
pub struct Schema {
    name: String,
    xsd: PathBuf,
    batch: Mutex<Option<Batch>>,
}

/// One running xmllint, reading documents from its pipe, under its shell.
struct Batch {
    shell: Child,
    /// Closing it ends xmllint.
    lifeline: Option<ChildStdin>,
    stderr: BufReader<ChildStderr>,
    pipe: PathBuf,
    left: usize,
}

impl Drop for Batch {
    fn drop(&mut self) {
        drop(self.lifeline.take());
        let _ = self.shell.wait();
        if let Some(folder) = self.pipe.parent() {
            let _ = std::fs::remove_dir_all(folder);
        }
    }
}

impl Schema {
    /// The schema in `<wsdl:types>` of the WSDL at `wsdl`. Panics when the WSDL is missing or has no schema: the
    /// test data is broken, not the connector.
    pub fn from_wsdl(name: &str, wsdl: &Path) -> Self {
        let text = std::fs::read_to_string(wsdl).unwrap_or_else(|e| panic!("WSDL {}: {e}", wsdl.display()));
        let xsd = extract_schema(&text).unwrap_or_else(|e| panic!("WSDL {}: {e}", wsdl.display()));
        let folder = std::env::temp_dir().join("fake-hr-xsd");
        std::fs::create_dir_all(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        let digest = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(text.as_bytes()));
        let path = folder.join(format!("{name}-{}.xsd", hex::encode(&digest[..8])));
        if std::fs::read_to_string(&path).ok().as_deref() != Some(xsd.as_str()) {
            // Written whole under another name, then renamed: another process may be reading it.
            let partial = folder.join(format!("{name}.{}.partial", std::process::id()));
            std::fs::write(&partial, &xsd).unwrap_or_else(|e| panic!("{}: {e}", partial.display()));
            std::fs::rename(&partial, &path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        Self { name: name.to_owned(), xsd: path, batch: Mutex::new(None) }
    }

    /// Checks one standalone document (an element and its namespace declarations); `Err` lists what xmllint
    /// found wrong, or why it could not check. Blocks: call it off the async runtime.
    pub fn validate(&self, document: &str) -> Result<(), Vec<String>> {
        if let Err(e) = roxmltree::Document::parse(document) {
            return Err(vec![format!("not well-formed XML: {e}")]);
        }
        let mut batch = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        if batch.as_ref().is_none_or(|b| b.left == 0) {
            *batch = None;
            *batch = Some(self.start().map_err(|e| vec![e])?);
        }
        let Some(running) = batch.as_mut() else { return Err(vec!["xmllint did not start".into()]) };
        match running.check(document) {
            Ok(problems) if problems.is_empty() => Ok(()),
            Ok(problems) => Err(problems),
            Err(e) => {
                *batch = None;
                Err(vec![format!("{}'s schema could not be checked: {e}", self.name)])
            }
        }
    }

    /// Starts an xmllint on the schema and makes sure it compiled, by a document no schema declares.
    fn start(&self) -> Result<Batch, String> {
        let pipes = std::env::temp_dir().join("fake-hr-xsd");
        remove_stale_pipes(&pipes);
        let folder = pipes.join(format!(
            "pipe-{}-{}",
            std::process::id(),
            PIPES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        let made = Command::new("mkfifo").arg(PIPE).current_dir(&folder).status();
        if !made.is_ok_and(|s| s.success()) {
            return Err(format!("mkfifo in {} failed", folder.display()));
        }
        // Nothing would ever read the pipe without it.
        let missing =
            |e: String| format!("xmllint (Debian's libxml2-utils; `make test` installs it) could not run: {e}");
        let version = Command::new("xmllint").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        version.map_err(|e| missing(e.to_string()))?;
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(SUPERVISOR)
            .arg(&self.xsd)
            .args(std::iter::repeat_n(PIPE, DOCUMENTS_PER_PROCESS))
            .current_dir(&folder)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| missing(e.to_string()))?;
        let (lifeline, stderr) = (shell.stdin.take(), shell.stderr.take());
        let Some(stderr) = stderr else {
            let _ = shell.kill();
            return Err("xmllint's standard error".into());
        };
        let mut batch = Batch {
            shell,
            lifeline,
            stderr: BufReader::new(stderr),
            pipe: folder.join(PIPE),
            left: DOCUMENTS_PER_PROCESS,
        };
        let probe = batch.check("<probe xmlns=\"urn:fake-hr:probe\"/>")?;
        if !probe.iter().any(|p| p.contains("No matching global declaration")) {
            return Err(format!("xmllint did not take the schema {}: {}", self.xsd.display(), probe.join("; ")));
        }
        Ok(batch)
    }
}

/// The pipe folders of test processes that have ended (a process keeps its last xmllint to its end).
fn remove_stale_pipes(pipes: &Path) {
    let Ok(entries) = std::fs::read_dir(pipes) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix("pipe-").and_then(|rest| rest.split('-').next());
        if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

static PIPES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Batch {
    /// Writes one document into the pipe and reads what xmllint says of it: its problems, none when it validates.
    fn check(&mut self, document: &str) -> Result<Vec<String>, String> {
        // The pipe opens once xmllint opens it to read: it exits only after its last document, or by a crash
        // (seen as the end of its standard error, which only it holds).
        if self.left == 0 {
            return Err("xmllint has exited".into());
        }
        self.left -= 1;
        let mut pipe = std::fs::OpenOptions::new().write(true).open(&self.pipe).map_err(|e| e.to_string())?;
        pipe.write_all(document.as_bytes()).map_err(|e| format!("writing to xmllint: {e}"))?;
        drop(pipe);
        let (valid, invalid) = (format!("{PIPE} validates"), format!("{PIPE} fails to validate"));
        let mut problems = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            let read = self.stderr.read_line(&mut line).map_err(|e| format!("reading xmllint: {e}"))?;
            let said = line.trim_end();
            if read == 0 {
                return Err(format!("xmllint exited: {}", problems.join("; ")));
            }
            if said == valid {
                return Ok(Vec::new());
            }
            if said == invalid {
                if problems.is_empty() {
                    problems.push("fails to validate".into());
                }
                return Ok(problems);
            }
            if said.contains("failed to compile") {
                return Err(said.to_owned());
            }
            // `doc:1: element Count: Schemas validity error : Element '{urn:…}Count': 'x' is not a valid value…`
            let said = said.split_once(" : ").map_or(said, |(_, problem)| problem).trim();
            if !said.is_empty() && problems.len() < MOST_PROBLEMS {
                problems.push(said.to_owned());
            }
        }
    }
}

/// The `xsd:schema` of a WSDL's `<wsdl:types>` as a schema document of its own.
pub fn extract_schema(wsdl: &str) -> Result<String, String> {
    let doc = roxmltree::Document::parse(wsdl).map_err(|e| format!("not XML: {e}"))?;
    let types = doc.root_element().children().find(|n| n.is_element() && n.tag_name().name() == "types");
    let schemas: Vec<_> = types
        .into_iter()
        .flat_map(|t| t.children())
        .filter(|n| n.is_element() && n.has_tag_name((XML_SCHEMA, "schema")))
        .collect();
    match schemas.as_slice() {
        [schema] => Ok(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n", standalone(wsdl, *schema)?)),
        [] => Err("no xsd:schema in wsdl:types".into()),
        _ => Err("several schemas in wsdl:types: import between them is not handled".into()),
    }
}

/// What a SOAP message holds for the vendor's schema: the element in its `Body`, or the elements in a fault's
/// `detail` (none for a fault without one), each as a standalone document.
pub fn soap_payload(xml: &str) -> Result<Vec<String>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not XML: {e}"))?;
    let envelope = doc.root_element();
    if !envelope.has_tag_name((SOAP_ENVELOPE, "Envelope")) {
        return Err(format!("not a SOAP 1.1 envelope: the root is {:?}", envelope.tag_name().name()));
    }
    let Some(body) = elements(envelope).into_iter().find(|n| n.has_tag_name((SOAP_ENVELOPE, "Body"))) else {
        return Err("the envelope has no Body".into());
    };
    match elements(body).as_slice() {
        [fault] if fault.has_tag_name((SOAP_ENVELOPE, "Fault")) => {
            let detail = elements(*fault).into_iter().find(|n| n.tag_name().name() == "detail");
            detail.map_or(Ok(Vec::new()), |d| elements(d).into_iter().map(|n| standalone(xml, n)).collect())
        }
        [payload] => Ok(vec![standalone(xml, *payload)?]),
        [] => Err("the SOAP Body is empty".into()),
        _ => Err("the SOAP Body holds more than one element".into()),
    }
}

fn elements<'a, 'i>(node: roxmltree::Node<'a, 'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    node.children().filter(|n| n.is_element()).collect()
}

/// `node`'s text with the namespace declarations it inherits written onto its start tag (those it declares
/// itself are left as they are).
fn standalone(text: &str, node: roxmltree::Node<'_, '_>) -> Result<String, String> {
    let own = text.get(node.range()).ok_or("an element outside its document")?;
    let mut reader = quick_xml::Reader::from_str(own);
    let start = match reader.read_event().map_err(|e| e.to_string())? {
        quick_xml::events::Event::Start(start) | quick_xml::events::Event::Empty(start) => start,
        _ => return Err("an element that does not start with its tag".into()),
    };
    let mut declared = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|e| e.to_string())?;
        match attribute.key.as_namespace_binding() {
            Some(quick_xml::name::PrefixDeclaration::Default) => declared.push(String::new()),
            Some(quick_xml::name::PrefixDeclaration::Named(prefix)) => {
                declared.push(String::from_utf8_lossy(prefix).into_owned())
            }
            None => {}
        }
    }
    let inherited: String = node
        .namespaces()
        .filter(|ns| !declared.iter().any(|d| d == ns.name().unwrap_or("")) && ns.name() != Some("xml"))
        .map(|ns| {
            let uri = quick_xml::escape::escape(ns.uri());
            match ns.name() {
                Some(prefix) => format!(" xmlns:{prefix}=\"{uri}\""),
                None => format!(" xmlns=\"{uri}\""),
            }
        })
        .collect();
    let name_ends = 1 + start.name().as_ref().len();
    let (tag, rest) = own.split_at_checked(name_ends).ok_or("a start tag shorter than its name")?;
    Ok(format!("{tag}{inherited}{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_element_stands_alone_with_the_namespaces_it_inherits() {
        let xml = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wd="urn:com.workday/bsvc"><s:Header><x/></s:Header>
            <s:Body xmlns:other="urn:other"><wd:Get xmlns:own="urn:own" wd:version="v1"><wd:A other:b="1"/></wd:Get></s:Body></s:Envelope>"#;
        let payload = soap_payload(xml).unwrap();
        assert_eq!(payload.len(), 1);
        let doc = roxmltree::Document::parse(&payload[0]).expect("standalone");
        let root = doc.root_element();
        assert!(root.has_tag_name(("urn:com.workday/bsvc", "Get")));
        assert_eq!(root.lookup_namespace_uri(Some("other")), Some("urn:other"));
        assert_eq!(root.lookup_namespace_uri(Some("own")), Some("urn:own"));
        assert!(payload[0].ends_with("<wd:A other:b=\"1\"/></wd:Get>"));

        let fault = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
            <faultcode>s:Client</faultcode><faultstring>no</faultstring></s:Fault></s:Body></s:Envelope>"#;
        assert_eq!(soap_payload(fault).unwrap(), Vec::<String>::new());
        assert!(soap_payload("<Envelope/>").is_err());
        assert!(
            soap_payload(r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>"#)
                .is_err()
        );
    }

    #[test]
    fn a_schema_in_wsdl_types_becomes_a_schema_document() {
        let wsdl = r#"<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t">
            <wsdl:types><xsd:schema targetNamespace="urn:t" elementFormDefault="qualified"><xsd:element name="A" type="t:AType"/>
            <xsd:simpleType name="AType"><xsd:restriction base="xsd:integer"/></xsd:simpleType></xsd:schema></wsdl:types></wsdl:definitions>"#;
        let xsd = extract_schema(wsdl).unwrap();
        let doc = roxmltree::Document::parse(&xsd).unwrap();
        assert_eq!(doc.root_element().lookup_namespace_uri(Some("t")), Some("urn:t"));
        assert!(extract_schema("<wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\"/>").is_err());
    }
}
