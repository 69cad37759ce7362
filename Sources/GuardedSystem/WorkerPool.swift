#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A small bounded pool of pthreads (no Dispatch: it would pull libdispatch start-up into every
/// agent start of the static binary). The fleet's work is process-bound (one Python probe per venv),
/// so a handful of threads that each wait on a child is all the parallelism there is to have.
public enum WorkerPool {
    /// Processors online (`sysconf(_SC_NPROCESSORS_ONLN)`), at least 1.
    public static var processorCount: Int {
        let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        return n > 0 ? n : 1
    }

    /// `work` applied to every item on at most `workers` threads (the calling thread is one of them);
    /// results in the order of `items`. `progress(done, total)` is called after each item, one call at
    /// a time, in increasing order of `done`.
    public static func map<Item: Sendable, Result: Sendable>(
        _ items: [Item], workers: Int = processorCount,
        progress: (@Sendable (Int, Int) -> Void)? = nil,
        _ work: @escaping @Sendable (Item) -> Result
    ) -> [Result] {
        let queue = WorkQueue(items: items, work: work, progress: progress)
        let threadCount = max(1, min(workers, items.count))
        var threads: [pthread_t] = []
        for _ in 1..<threadCount {
            guard let thread = startThread({ queue.drain() }) else { break }
            threads.append(thread)
        }
        // The calling thread works too: a pool whose threads could not be created still finishes.
        queue.drain()
        for thread in threads { _ = pthread_join(thread, nil) }
        return queue.takeResults()
    }

    /// pthread_create with a Swift closure as the body; nil when the thread could not be created.
    private static func startThread(_ body: @escaping @Sendable () -> Void) -> pthread_t? {
        let context = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        #if canImport(Darwin)
        var thread: pthread_t? = nil
        #else
        var thread = pthread_t()
        #endif
        let rc = pthread_create(&thread, nil, { raw in
            #if canImport(Darwin)
            let body = Unmanaged<ThreadBody>.fromOpaque(raw).takeRetainedValue()
            #else
            let body = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
            #endif
            body.run()
            return nil
        }, context)
        if rc != 0 {
            Unmanaged<ThreadBody>.fromOpaque(context).release()
            return nil
        }
        return thread
    }
}

/// The closure a new thread runs, boxed so it can travel through pthread_create's `void *`.
private final class ThreadBody: Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// The pool's shared state: the next item to hand out, the results so far, the count done.
///
/// `@unchecked Sendable` because the compiler cannot see the lock: `next`, `results` and `done` are
/// read and written only between `pthread_mutex_lock` and `pthread_mutex_unlock` of `mutex`; `items`,
/// `work` and `progress` are immutable after init. The mutex lives in its own allocation so its
/// address never moves (a pthread mutex must not be copied or moved once initialised).
private final class WorkQueue<Item: Sendable, Result: Sendable>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let items: [Item]
    private let work: @Sendable (Item) -> Result
    private let progress: (@Sendable (Int, Int) -> Void)?
    private var next = 0
    private var done = 0
    private var results: [Result?]

    init(items: [Item], work: @escaping @Sendable (Item) -> Result, progress: (@Sendable (Int, Int) -> Void)?) {
        self.items = items
        self.work = work
        self.progress = progress
        results = Array(repeating: nil, count: items.count)
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deinitialize(count: 1)
        mutex.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }

    /// Takes items until none are left, running each outside the lock.
    func drain() {
        while let index = locked({ () -> Int? in
            guard next < items.count else { return nil }
            next += 1
            return next - 1
        }) {
            let result = work(items[index])
            locked {
                results[index] = result
                done += 1
                // Under the lock: progress lines come out in order, never interleaved.
                progress?(done, items.count)
            }
        }
    }

    func takeResults() -> [Result] {
        locked { results.map { $0! } }
    }
}
