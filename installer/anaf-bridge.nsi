; anaf-bridge-setup.exe: installs anaf_bridge.dll where Windows finds it for every ERP,
; following the rule of the ERP vendors' documents:
;   64-bit Windows: win-x64\anaf_bridge.dll -> C:\Windows\System32 (64-bit programs)
;                   win-x86\anaf_bridge.dll -> C:\Windows\SysWOW64 (32-bit programs)
;   32-bit Windows: win-x86\anaf_bridge.dll -> C:\Windows\System32
; plus the header, the bindings and an uninstaller in Program Files, and a check for the
; Microsoft Edge WebView2 Runtime (the login window needs it) that tells what to install.
;
; Built by installer/build.sh (makensis): -DDIST=<folder with win-x86\ and win-x64\>
; -DOUTFILE=<exe> -DVERSION=<x.y.z> [-DTARGET_AMD64 for a 64-bit installer (tests under
; wine64 without 32-bit Wine; it cannot run on 32-bit Windows)].

Unicode true
!ifdef TARGET_AMD64
  Target amd64-unicode
!endif

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"

!ifndef VERSION
  !define VERSION "0.0.0"
!endif
!ifndef DIST
  !error "define DIST (the folder holding win-x86\anaf_bridge.dll and win-x64\anaf_bridge.dll)"
!endif
!ifndef OUTFILE
  !define OUTFILE "anaf-bridge-setup.exe"
!endif
!ifndef ROOT
  !define ROOT ".."
!endif

!define PRODUCT "anaf-bridge"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\anaf-bridge"
!define WV2_GUID "{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}"
!define WV2_URL "https://developer.microsoft.com/microsoft-edge/webview2/"

Name "${PRODUCT} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES\${PRODUCT}"
RequestExecutionLevel admin
ShowInstDetails show
ShowUninstDetails show
SetOverwrite on
AllowSkipFiles off
VIProductVersion "${VERSION}.0"
VIAddVersionKey /LANG=0 "ProductName" "${PRODUCT}"
VIAddVersionKey /LANG=0 "FileVersion" "${VERSION}"
VIAddVersionKey /LANG=0 "FileDescription" "anaf-bridge setup (token ANAF, e-Factura, e-Transport)"
VIAddVersionKey /LANG=0 "LegalCopyright" "MIT OR Apache-2.0"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
; The first language is the default when Windows speaks neither.
!insertmacro MUI_LANGUAGE "Romanian"
!insertmacro MUI_LANGUAGE "English"

LangString WV2_MISSING ${LANG_ROMANIAN} "Lipsește Microsoft Edge WebView2 Runtime: fără el nu se deschide fereastra de autentificare ANAF (eroarea $\"Acces denied$\" la generarea tokenului).$\r$\n$\r$\nInstalați Evergreen WebView2 Runtime de la Microsoft (MicrosoftEdgeWebView2RuntimeInstallerX64.exe pe Windows 64 de biți, ...X86.exe pe Windows 32 de biți).$\r$\n$\r$\nDeschid pagina de descărcare?"
LangString WV2_MISSING ${LANG_ENGLISH} "The Microsoft Edge WebView2 Runtime is missing: without it the ANAF login window does not open (the $\"Acces denied$\" error when generating the token).$\r$\n$\r$\nInstall the Evergreen WebView2 Runtime from Microsoft (MicrosoftEdgeWebView2RuntimeInstallerX64.exe on 64-bit Windows, ...X86.exe on 32-bit Windows).$\r$\n$\r$\nOpen the download page?"
LangString WV2_FOUND ${LANG_ROMANIAN} "Microsoft Edge WebView2 Runtime este instalat, versiunea"
LangString WV2_FOUND ${LANG_ENGLISH} "Microsoft Edge WebView2 Runtime is installed, version"
LangString WV2_NOTE ${LANG_ROMANIAN} "WebView2 Runtime lipsește; instalați-l de la"
LangString WV2_NOTE ${LANG_ENGLISH} "WebView2 Runtime missing; install it from"

Var Wv2Version
Var Report

; The WebView2 Runtime version from EdgeUpdate's registry keys, empty when missing.
; EdgeUpdate is a 32-bit program: on 64-bit Windows its per-machine key is
; SOFTWARE\Microsoft\EdgeUpdate in the 32-bit view, which the 64-bit view shows under
; SOFTWARE\WOW6432Node. Both views are read, and the plain path in the 64-bit view too, so
; the runtime is found whichever way the key was written; then the per-user key.
; "0.0.0.0" is what an uninstalled runtime leaves behind.
!macro Wv2Try VIEW ROOTKEY SUBKEY
  ${If} $Wv2Version == ""
  ${OrIf} $Wv2Version == "0.0.0.0"
    SetRegView ${VIEW}
    ReadRegStr $Wv2Version ${ROOTKEY} "${SUBKEY}" "pv"
  ${EndIf}
!macroend
Function FindWebView2
  StrCpy $Wv2Version ""
  !insertmacro Wv2Try 32 HKLM "SOFTWARE\Microsoft\EdgeUpdate\Clients\${WV2_GUID}"
  ${If} ${RunningX64}
    !insertmacro Wv2Try 64 HKLM "SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\${WV2_GUID}"
    !insertmacro Wv2Try 64 HKLM "SOFTWARE\Microsoft\EdgeUpdate\Clients\${WV2_GUID}"
  ${EndIf}
  !insertmacro Wv2Try 32 HKCU "Software\Microsoft\EdgeUpdate\Clients\${WV2_GUID}"
  ${If} $Wv2Version == "0.0.0.0"
    StrCpy $Wv2Version ""
  ${EndIf}
  SetRegView lastused
FunctionEnd

; Puts a DLL into a system folder even while an ERP has the old one loaded: Windows lets a
; loaded DLL be renamed, so the old copy moves aside (deleted now or at the next restart).
!macro PutDll SRC FOLDER
  Delete "${FOLDER}\anaf_bridge.dll.old"
  IfFileExists "${FOLDER}\anaf_bridge.dll" 0 +2
    Rename "${FOLDER}\anaf_bridge.dll" "${FOLDER}\anaf_bridge.dll.old"
  SetOutPath "${FOLDER}"
  File "/oname=anaf_bridge.dll" "${SRC}"
  Delete /REBOOTOK "${FOLDER}\anaf_bridge.dll.old"
!macroend

Section "anaf_bridge.dll" SecMain
  SetOutPath "$INSTDIR"
  FileOpen $Report "$INSTDIR\install-report.txt" w
  FileWrite $Report "${PRODUCT} ${VERSION}$\r$\n"

  ${If} ${RunningX64}
    ; 64-bit DLL into the real System32 (a 32-bit installer is redirected unless told not to).
    ${DisableX64FSRedirection}
    !insertmacro PutDll "${DIST}\win-x64\anaf_bridge.dll" "$WINDIR\System32"
    ${EnableX64FSRedirection}
    FileWrite $Report "win-x64 -> $WINDIR\System32\anaf_bridge.dll$\r$\n"
    !insertmacro PutDll "${DIST}\win-x86\anaf_bridge.dll" "$WINDIR\SysWOW64"
    FileWrite $Report "win-x86 -> $WINDIR\SysWOW64\anaf_bridge.dll$\r$\n"
  ${Else}
    !insertmacro PutDll "${DIST}\win-x86\anaf_bridge.dll" "$WINDIR\System32"
    FileWrite $Report "win-x86 -> $WINDIR\System32\anaf_bridge.dll$\r$\n"
  ${EndIf}

  ; For the ERP developer: the C header, the bindings, both DLLs as shipped.
  SetOutPath "$INSTDIR\include"
  File "${ROOT}\include\anaf_bridge.h"
  SetOutPath "$INSTDIR\bindings"
  File "${ROOT}\bindings\delphi\AnafBridge.pas"
  File "${ROOT}\bindings\dotnet\AnafBridge.cs"
  File "${ROOT}\bindings\cpp\anaf_bridge.hpp"
  SetOutPath "$INSTDIR\win-x86"
  File "${DIST}\win-x86\anaf_bridge.dll"
  SetOutPath "$INSTDIR\win-x64"
  File "${DIST}\win-x64\anaf_bridge.dll"

  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${PRODUCT}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "anaf-bridge"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" "$\"$INSTDIR\uninstall.exe$\""
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" "$\"$INSTDIR\uninstall.exe$\" /S"
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1

  Call FindWebView2
  ${If} $Wv2Version == ""
    DetailPrint "$(WV2_NOTE) ${WV2_URL}"
    FileWrite $Report "webview2: missing$\r$\n"
    MessageBox MB_YESNO|MB_ICONEXCLAMATION "$(WV2_MISSING)" /SD IDNO IDNO wv2_done
      ExecShell "open" "${WV2_URL}"
    wv2_done:
  ${Else}
    DetailPrint "$(WV2_FOUND) $Wv2Version"
    FileWrite $Report "webview2: $Wv2Version$\r$\n"
  ${EndIf}
  FileClose $Report
SectionEnd

Section "Uninstall"
  ${If} ${RunningX64}
    ${DisableX64FSRedirection}
    Delete /REBOOTOK "$WINDIR\System32\anaf_bridge.dll"
    ${EnableX64FSRedirection}
    Delete /REBOOTOK "$WINDIR\SysWOW64\anaf_bridge.dll"
  ${Else}
    Delete /REBOOTOK "$WINDIR\System32\anaf_bridge.dll"
  ${EndIf}
  Delete "$INSTDIR\include\anaf_bridge.h"
  Delete "$INSTDIR\bindings\AnafBridge.pas"
  Delete "$INSTDIR\bindings\AnafBridge.cs"
  Delete "$INSTDIR\bindings\anaf_bridge.hpp"
  Delete "$INSTDIR\win-x86\anaf_bridge.dll"
  Delete "$INSTDIR\win-x64\anaf_bridge.dll"
  Delete "$INSTDIR\install-report.txt"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR\include"
  RMDir "$INSTDIR\bindings"
  RMDir "$INSTDIR\win-x86"
  RMDir "$INSTDIR\win-x64"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINST_KEY}"
SectionEnd
