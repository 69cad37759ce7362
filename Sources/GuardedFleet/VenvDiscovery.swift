import GuardedCore
import GuardedSystem

/// A directory the walk could not read: reported, never fatal.
public struct UnreadablePath: Sendable, Equatable {
    public var path: String
    public var error: String
    public init(path: String, error: String) { self.path = path; self.error = error }
}

/// What a walk of the roots found, venvs in walk order (roots in the order given, names sorted).
public struct Discovery: Sendable {
    public var venvs: [String] = []
    public var unreadable: [UnreadablePath] = []
    public init() {}
}

/// Finds venvs under root directories: a directory holding `pyvenv.cfg` (or one guarded-run has
/// checked before, so a venv that lost its pyvenv.cfg is still found, and found broken).
///
/// - `.git`, `node_modules`, `__pycache__` and guarded-run's own `<venv>.generations` directories are
///   skipped; a venv's own tree is not searched for more venvs.
/// - Symlinks are never descended, so a symlink loop cannot trap the walk and a link to `/` cannot
///   widen it. A symlink that points at a venv is that venv, reported under the link's path (the path
///   agents use: the repair layout's `<venv> -> <venv>.generations/<N>`).
/// - A venv reached by two paths (a link and its target) is reported once: the real directory wins,
///   except over a generation directory, which is never walked.
public struct VenvDiscovery {
    public static let skippedNames: Set<String> = [".git", "node_modules", "__pycache__"]
    /// Levels below a root searched (a guard against deep trees, not a limit anyone should meet).
    public static let maxDepth = 12

    let state: StateDirectory?
    private var result = Discovery()
    private var seenDirectories = Set<DirectoryID>()
    private var venvIndex: [DirectoryID: (index: Int, viaLink: Bool)] = [:]

    public init(state: StateDirectory?) { self.state = state }

    public static func discover(roots: [String], state: StateDirectory?) -> Discovery {
        var walker = VenvDiscovery(state: state)
        for root in roots { walker.visitRoot(normalizedPath(absolutePath(root, relativeTo: currentDirectory()))) }
        return walker.result
    }

    /// Skipped by name: VCS metadata, JavaScript dependencies, bytecode, repair generations.
    public static func isSkipped(_ name: String) -> Bool {
        skippedNames.contains(name) || name.hasSuffix(".generations")
    }

    private mutating func visitRoot(_ root: String) {
        // A root the user named may itself be a symlink: follow that one.
        let st: FileStatus
        do { st = try fileStatus(root, followSymlinks: true) } catch {
            result.unreadable.append(UnreadablePath(path: root, error: error.errno.description))
            return
        }
        guard st.isDirectory else {
            result.unreadable.append(UnreadablePath(path: root, error: Errno.notDirectory.description))
            return
        }
        let viaLink = fileStatusIfPresent(root)?.isSymbolicLink == true
        if isVenv(root) { record(root, DirectoryID(st), viaLink: viaLink); return }
        walk(root, DirectoryID(st), depth: 0)
    }

    private mutating func walk(_ directory: String, _ id: DirectoryID, depth: Int) {
        guard seenDirectories.insert(id).inserted else { return }
        let names: [String]
        do { names = try directoryEntries(directory).sorted() } catch {
            result.unreadable.append(UnreadablePath(path: directory, error: error.errno.description))
            return
        }
        for name in names where !VenvDiscovery.isSkipped(name) {
            let path = directory == "/" ? "/" + name : directory + "/" + name
            guard let entry = fileStatusIfPresent(path) else { continue }
            if entry.isSymbolicLink {
                // Only to recognise a linked venv; never to walk through.
                if let target = fileStatusIfPresent(path, followSymlinks: true), target.isDirectory, isVenv(path) {
                    record(path, DirectoryID(target), viaLink: true)
                }
            } else if entry.isDirectory {
                if isVenv(path) {
                    record(path, DirectoryID(entry), viaLink: false)
                } else if depth < VenvDiscovery.maxDepth {
                    walk(path, DirectoryID(entry), depth: depth + 1)
                }
            }
        }
    }

    private func isVenv(_ path: String) -> Bool {
        if fileStatusIfPresent(path + "/pyvenv.cfg", followSymlinks: true)?.isRegularFile == true { return true }
        guard let state else { return false }
        return fileStatusIfPresent(state.venvDirectory(for: path))?.isDirectory == true
    }

    private mutating func record(_ path: String, _ id: DirectoryID, viaLink: Bool) {
        if let seen = venvIndex[id] {
            if seen.viaLink && !viaLink {
                result.venvs[seen.index] = path
                venvIndex[id] = (seen.index, false)
            }
            return
        }
        venvIndex[id] = (result.venvs.count, viaLink)
        result.venvs.append(path)
    }
}

/// A directory's identity: device and inode.
struct DirectoryID: Hashable {
    let device: UInt64
    let inode: UInt64
    init(_ st: FileStatus) { device = st.device; inode = st.inode }
}
