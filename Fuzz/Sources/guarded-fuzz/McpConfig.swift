import GuardedSupervisor

/// MCP client configs (Claude Desktop, Claude Code, Cursor: strict JSON; VS Code: JSON with comments
/// and trailing commas), as `wrap mcp` and `unwrap mcp` splice them. The first byte picks the
/// client's dialect; every command is taken to run from a venv, so every stdio entry is spliced.
/// An edit that does not parse back as intended is refused inside `McpWrap` itself; here the wrapped
/// bytes also go through `unwrap`, which must accept what wrap wrote.
@_cdecl("fuzz_mcp_config") public func fuzzMcpConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    var input = bytes(data, size)
    guard !input.isEmpty else { return 0 }
    let vscode = input.removeFirst() & 1 == 1
    let client = vscode
        ? McpClient.of(path: "/home/u/.vscode/mcp.json", home: "/home/u")
        : McpClient.of(path: "/home/u/.config/Claude/claude_desktop_config.json", home: "/home/u")
    let options = McpWrap.Options(imports: ["agent"], guardedRun: "/usr/local/bin/guarded-run")
    if case .success(let edit) = McpWrap.wrap(input, client: client, options: options, venvOf: { command in
        command.hasPrefix("/") ? "/srv/venv" : nil
    }), edit.isChanged {
        guard case .success = McpWrap.unwrap(edit.bytes, client: client) else {
            fatalError("unwrap refused what wrap wrote")
        }
    }
    _ = McpWrap.unwrap(input, client: client)
    return 0
}
