//! The DLL's bitness and the copies in the system folders: a process loads only a DLL
//! of its own bitness, so the copy of the other bitness in the other folder is what breaks.

use super::{Check, Level};
use crate::platform;
use serde_json::json;

const TITLE: (&str, &str) = ("DLL: 32/64 de biți și folder", "DLL: 32/64-bit and folder");

pub(super) fn check() -> Check {
    let bits = usize::BITS;
    let module = platform::module_path();
    let os64 = platform::os_is_64bit();
    let mut data = json!({
        "dll_bits": bits,
        "process_bits": bits,
        "os_bits": if os64 { 64 } else { 32 },
        "module": module.as_ref().map(|p| p.display().to_string()),
    });
    let c = Check::new("dll_bitness", TITLE, Level::Ok);
    // A process can only load a DLL of its own bitness, so the loaded copy is right by
    // construction; what breaks ERPs is the copy of the other bitness in the other
    // system folder (the 32-bit ERP and the 64-bit one on the same computer).
    let mut wrong = Vec::new();
    // The copies looked for have the loaded DLL's name; a program that has the library
    // built in (anaf.exe) looks for the DLL the ERPs load.
    let file_name = module
        .as_ref()
        .and_then(|m| m.file_name())
        .map(|n| n.to_os_string());
    let built_in = file_name.as_ref().is_some_and(|n| {
        let n = n.to_string_lossy().to_ascii_lowercase();
        !(n.ends_with(".dll") || n.ends_with(".so") || n.contains(".so.") || n.ends_with(".dylib"))
    });
    let name = file_name
        .filter(|_| !built_in)
        .unwrap_or_else(|| "anaf_bridge.dll".into());
    let mut copies = 0;
    for (folder, want_bits) in platform::system_folders() {
        let file = folder.join(&name);
        if !file.exists() {
            continue;
        }
        copies += 1;
        let found = platform::file_machine(&file).and_then(platform::machine_bits);
        data[folder.display().to_string()] = json!(found);
        if found != Some(want_bits) {
            wrong.push((file, want_bits, found));
        }
    }
    let here = module
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "?".into());
    if let Some((file, want, found)) = wrong.first() {
        let found = found.map(|b| b.to_string()).unwrap_or_else(|| "?".into());
        let src = if *want == 64 { "win-x64" } else { "win-x86" };
        let f = file.display();
        return c
            .level(Level::Problem)
            .data(data)
            .msg(
                format!("În {f} este DLL-ul de {found} biți, dar acolo trebuie cel de {want} de biți: programele de {want} de biți nu îl pot încărca (\"Acces denied\" / DLL negăsit)."),
                format!("{f} holds the {found}-bit DLL, but that folder needs the {want}-bit one: {want}-bit programs cannot load it (\"Acces denied\" / DLL not found)."),
            )
            .todo(
                format!("Copiați DLL-ul din folderul {src} peste {f}. Regula: Windows 64 de biți: win-x64 în System32, win-x86 în SysWOW64; Windows 32 de biți: win-x86 în System32. Sau rulați anaf-bridge-setup.exe."),
                format!("Copy the DLL from the {src} folder over {f}. The rule: 64-bit Windows: win-x64 into System32, win-x86 into SysWOW64; 32-bit Windows: win-x86 into System32. Or run anaf-bridge-setup.exe."),
            );
    }
    let os = if os64 { 64 } else { 32 };
    if built_in {
        let n = name.to_string_lossy();
        return c.data(data).msg(
            format!("Programul {here} ({bits} de biți, sistem de {os} de biți) are biblioteca inclusă; copiile {n} din folderele de sistem: {copies}, fiecare cu bitness-ul potrivit."),
            format!("The program {here} ({bits}-bit, {os}-bit system) has the library built in; copies of {n} in the system folders: {copies}, each of the right bitness."),
        );
    }
    c.data(data).msg(
        format!("DLL de {bits} de biți într-un program de {bits} de biți (sistem de {os} de biți), încărcat din {here}."),
        format!("{bits}-bit DLL in a {bits}-bit program ({os}-bit system), loaded from {here}."),
    )
}
