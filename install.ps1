# Installs sessh.exe for Windows on x86_64 from a GitHub release, after
# checking it against the release's SHA256SUMS with Get-FileHash. Nothing is
# run or installed before the check passes.
#
#   powershell -ExecutionPolicy Bypass -File install.ps1 [-Version v0.1.0]
#
# Environment:
#   SESSH_INSTALL_DIR   where sessh.exe goes
#                       (default: $env:LOCALAPPDATA\Programs\sessh)
#   SESSH_REPO          the GitHub repository, owner/name (default: sessh/sessh)
#   SESSH_RELEASE_URL   a directory (https://, http://) holding the assets and
#                       SHA256SUMS, used instead of GitHub's
#
# Exit codes: 0 installed, 2 usage or unsupported machine, 3 a download
# failed, 4 the download does not match SHA256SUMS.
param(
  [string]$Version = ""
)
$ErrorActionPreference = "Stop"

function Fail([int]$Code, [string]$Message) {
  [Console]::Error.WriteLine("install.ps1: $Message")
  exit $Code
}

if ($Version -ne "" -and $Version -notmatch '^v[0-9]+\.[0-9]+\.[0-9]+[A-Za-z0-9.+-]*$') {
  Fail 2 "`"$Version`" is not a version; give one like v0.1.0, or none for the latest"
}
if ($env:PROCESSOR_ARCHITECTURE -ne "AMD64") {
  Fail 2 ("no sessh build for the `"$($env:PROCESSOR_ARCHITECTURE)`" processor; " +
    "use JSR (see the README)")
}
$asset = "sessh-x86_64-pc-windows-msvc.exe"

$repo = if ($env:SESSH_REPO) { $env:SESSH_REPO } else { "sessh/sessh" }
if ($env:SESSH_RELEASE_URL) {
  $base = $env:SESSH_RELEASE_URL.TrimEnd("/")
} elseif ($Version -ne "") {
  $base = "https://github.com/$repo/releases/download/$Version"
} else {
  $base = "https://github.com/$repo/releases/latest/download"
}
$dir = if ($env:SESSH_INSTALL_DIR) {
  $env:SESSH_INSTALL_DIR
} else {
  Join-Path $env:LOCALAPPDATA "Programs\sessh"
}

$work = Join-Path ([IO.Path]::GetTempPath()) ("sessh-install-" + [Guid]::NewGuid())
New-Item -ItemType Directory -Path $work | Out-Null
try {
  $sums = Join-Path $work "SHA256SUMS"
  $download = Join-Path $work $asset
  try {
    Invoke-WebRequest -UseBasicParsing -Uri "$base/SHA256SUMS" -OutFile $sums
  } catch {
    Fail 3 "cannot download $base/SHA256SUMS ($($_.Exception.Message))"
  }
  try {
    Invoke-WebRequest -UseBasicParsing -Uri "$base/$asset" -OutFile $download
  } catch {
    Fail 3 "cannot download $base/$asset ($($_.Exception.Message))"
  }

  $expected = $null
  foreach ($line in Get-Content -Path $sums) {
    $fields = $line -split '\s+', 2
    if ($fields.Count -eq 2 -and $fields[1].TrimStart("*") -eq $asset) {
      $expected = $fields[0].ToLowerInvariant()
    }
  }
  if (-not $expected) {
    Fail 4 "SHA256SUMS names no `"$asset`"; nothing was installed"
  }
  $actual = (Get-FileHash -Algorithm SHA256 -Path $download).Hash.ToLowerInvariant()
  if ($actual -ne $expected) {
    Fail 4 ("$asset does not match SHA256SUMS (expected $expected, got $actual); " +
      "nothing was installed. Download it again; if it still differs, report it")
  }

  New-Item -ItemType Directory -Force -Path $dir | Out-Null
  # Staged beside the target, then renamed over it: a half-copied sessh.exe
  # is never run.
  $staged = Join-Path $dir (".sessh-" + [Guid]::NewGuid() + ".exe")
  Copy-Item -Path $download -Destination $staged
  Move-Item -Force -Path $staged -Destination (Join-Path $dir "sessh.exe")
  Write-Output "installed $asset to $(Join-Path $dir 'sessh.exe')"
  $onPath = ($env:PATH -split ';') -contains $dir
  if (-not $onPath) {
    Write-Output "add $dir to PATH to run sessh by name"
  }
} finally {
  Remove-Item -Recurse -Force -Path $work -ErrorAction SilentlyContinue
}
