// replay.cpp: replays a tandem ledger through libtandem's engine and prints each slot's hashes,
// through a small RAII wrapper of the C ABI.
//
//     replay GENESIS.toml LEDGER STORE_DIR [--backend cpu|auto|gpu]
//
// stdout: one line per block, "<slot> <VED hash> <UED hash>" in lowercase hex, the hashes that
// `tandem replay --json` writes. stderr: the engine's description, its log, alerts, metrics.
//
// The wrapper (namespace tandem) is what a C++ validator would keep: `tandem::Engine` owns the
// engine pointer (move-only; the destructor closes it), a failed call throws `tandem::Error`
// with the status code and tandem_last_error()'s message, hashes are std::array<uint8_t, 32>.
// Engine's methods may be called from several threads at once, as the C functions may; only
// destruction (tandem_engine_close) must wait until no other thread uses the engine.
//
// replay.c is the same program in C. Each example stands alone on purpose, so that either can be
// read, copied and built by itself; the shared structure is deliberate.
//
// Build: c++ -std=c++17 replay.cpp $(pkg-config --cflags --libs tandem) -o replay
#include <tandem.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace tandem {

using Hash = std::array<uint8_t, 32>;

// The name of a status code, for messages.
inline const char *status_name(int32_t status) {
    switch (status) {
    case TANDEM_OK: return "TANDEM_OK";
    case TANDEM_ERR_INVALID_ARGUMENT: return "TANDEM_ERR_INVALID_ARGUMENT";
    case TANDEM_ERR_BACKEND_UNAVAILABLE: return "TANDEM_ERR_BACKEND_UNAVAILABLE";
    case TANDEM_ERR_IO: return "TANDEM_ERR_IO";
    case TANDEM_ERR_CORRUPT: return "TANDEM_ERR_CORRUPT";
    case TANDEM_ERR_REJECTED: return "TANDEM_ERR_REJECTED";
    case TANDEM_ERR_TIMEOUT: return "TANDEM_ERR_TIMEOUT";
    case TANDEM_ERR_HALTED: return "TANDEM_ERR_HALTED";
    case TANDEM_ERR_NOT_FOUND: return "TANDEM_ERR_NOT_FOUND";
    case TANDEM_ERR_INTERNAL: return "TANDEM_ERR_INTERNAL";
    default: return "unknown status";
    }
}

// A failed tandem call: its status code and tandem_last_error()'s message, copied when the
// error is made (the library's string lives only until the thread's next tandem call).
class Error : public std::runtime_error {
public:
    explicit Error(int32_t code) : std::runtime_error(tandem_last_error()), code_(code) {}
    int32_t code() const noexcept { return code_; }

private:
    int32_t code_;
};

// Throws the error of a failed call; call it right after the call, on the same thread.
inline void check(int32_t status) {
    if (status != TANDEM_OK) {
        throw Error(status);
    }
}

// An open engine. Owns the pointer: move-only, and the destructor closes the engine, which
// stops its pipeline (every queued block is executed and committed) and frees it.
class Engine {
public:
    Engine(const std::string &genesis_toml, const std::string &store_dir, uint32_t backend,
           uint32_t ued_threads = 0 /* from the placement plan */) {
        tandem_engine_config config{}; // zero: fields a newer header adds must be zero
        config.size = sizeof config;
        config.backend = backend;
        config.ued_threads = ued_threads;
        config.cores = nullptr; // automatic placement
        check(tandem_engine_open(genesis_toml.c_str(), store_dir.c_str(), &config, &engine_));
    }
    ~Engine() { tandem_engine_close(engine_); } // NULL (moved from): nothing
    Engine(Engine &&other) noexcept : engine_(std::exchange(other.engine_, nullptr)) {}
    Engine &operator=(Engine &&other) noexcept {
        if (this != &other) {
            tandem_engine_close(engine_);
            engine_ = std::exchange(other.engine_, nullptr);
        }
        return *this;
    }
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;

    // One block in the ledger's block encoding; tandem copies it before returning.
    void submit_block(const std::vector<uint8_t> &block) {
        check(tandem_engine_submit_block(engine_, block.data(), block.size()));
    }
    Hash ved_hash(uint64_t slot, uint32_t timeout_ms) {
        Hash out;
        check(tandem_engine_ved_hash(engine_, slot, timeout_ms, out.data()));
        return out;
    }
    Hash ued_hash(uint64_t slot, uint32_t timeout_ms) {
        Hash out;
        check(tandem_engine_ued_hash(engine_, slot, timeout_ms, out.data()));
        return out;
    }
    // The oldest alert not read yet, if any.
    std::optional<tandem_alert> poll_alert() {
        tandem_alert alert{};
        uint8_t has_alert = 0;
        check(tandem_engine_poll_alert(engine_, &alert, &has_alert));
        return has_alert ? std::optional<tandem_alert>(alert) : std::nullopt;
    }
    tandem_metrics metrics() {
        tandem_metrics metrics{};
        metrics.size = sizeof metrics;
        check(tandem_engine_metrics(engine_, &metrics));
        return metrics;
    }
    std::string describe() {
        size_t len = 0;
        check(tandem_engine_describe(engine_, nullptr, 0, &len));
        std::string text(len + 1, '\0'); // room for the NUL tandem writes
        check(tandem_engine_describe(engine_, text.data(), text.size(), &len));
        text.resize(len);
        return text;
    }
    // For C functions the wrapper does not cover; the Engine keeps ownership.
    tandem_engine *get() const noexcept { return engine_; }

private:
    tandem_engine *engine_ = nullptr;
};

} // namespace tandem

namespace {

const uint32_t WAIT_MS = 60000;
// Blocks whose UED hash we have not printed yet. The VED runs ahead of the UED; letting blocks
// run ahead keeps the pipeline busy. Far below the 4,096 slots whose hashes the engine keeps.
const size_t IN_FLIGHT = 64;

std::string hex(const uint8_t *bytes, size_t len) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < len; i++) {
        out += digits[bytes[i] >> 4];
        out += digits[bytes[i] & 15];
    }
    return out;
}

std::string hex(const tandem::Hash &hash) { return hex(hash.data(), hash.size()); }

uint64_t read_le(const uint8_t *p, size_t bytes) {
    uint64_t value = 0;
    for (size_t i = bytes; i-- > 0;) {
        value = value << 8 | p[i];
    }
    return value;
}

// A ledger (SPEC §9) read block by block; each block comes out in the encoding
// tandem_engine_submit_block takes: the ledger's bytes of that block, without the magic.
class LedgerReader {
public:
    explicit LedgerReader(const std::string &path) : path_(path), file_(path, std::ios::binary) {
        if (!file_) {
            throw std::runtime_error(path + ": " + std::strerror(errno));
        }
        char magic[8] = {};
        file_.read(magic, sizeof magic);
        offset_ = static_cast<uint64_t>(file_.gcount());
        if (offset_ != sizeof magic || std::memcmp(magic, "TNDMLDG1", sizeof magic) != 0) {
            throw std::runtime_error(path + ": not a tandem ledger (it does not start with "
                                            "\"TNDMLDG1\")");
        }
    }

    // The next block into `block`; false at the clean end of the ledger.
    bool next(std::vector<uint8_t> &block) {
        block.clear();
        if (file_.peek() == std::ifstream::traits_type::eof() && !file_.bad()) {
            return false;
        }
        read(block, HEADER_LEN, "header");
        read(block, 4, "transaction count");
        uint64_t count = read_le(block.data() + HEADER_LEN, 4);
        for (uint64_t i = 0; i < count; i++) {
            read(block, 4, "transaction length");
            uint64_t tx_len = read_le(block.data() + block.size() - 4, 4);
            if (tx_len > MAX_TRANSACTION_LEN) {
                throw std::runtime_error(path_ + ": corrupt: transaction " + std::to_string(i) +
                                         " of block " + std::to_string(index_) + " claims " +
                                         std::to_string(tx_len) + " bytes (at most 1232)");
            }
            read(block, tx_len, "transaction bytes");
        }
        index_++;
        return true;
    }

private:
    // Slot, parent slot, leader, timestamp, blockhash (SPEC §4).
    static constexpr size_t HEADER_LEN = 8 + 8 + 32 + 8 + 32;
    // No valid transaction is longer (Solana's packet size): a longer length is a damaged file,
    // and this bound keeps a damaged length from sizing an allocation.
    static constexpr uint64_t MAX_TRANSACTION_LEN = 1232;

    // Appends `n` bytes of the file to `block`; throws when the file ends first.
    void read(std::vector<uint8_t> &block, size_t n, const char *part) {
        size_t start = block.size();
        block.resize(start + n);
        file_.read(reinterpret_cast<char *>(block.data() + start), static_cast<std::streamsize>(n));
        size_t got = static_cast<size_t>(file_.gcount());
        if (file_.bad()) {
            throw std::runtime_error(path_ + ": read error");
        }
        if (got != n) {
            throw std::runtime_error(path_ + ": truncated in block " + std::to_string(index_) +
                                     ": " + part + " at byte " + std::to_string(offset_) + ": " +
                                     std::to_string(n) + " bytes needed, " +
                                     std::to_string(got) + " present");
        }
        offset_ += n;
    }

    std::string path_;
    std::ifstream file_;
    uint64_t index_ = 0;  // the block being read, from 0
    uint64_t offset_ = 0; // bytes of the file read so far
};

// The log sink: a C callback, so it must never let an exception out. tandem calls it from any
// of its threads, one call at a time; `message` is valid only during the call. std::fprintf
// writes each line whole even while the main thread writes to stderr.
extern "C" void log_to_stderr(void * /* ctx: what was passed to tandem_set_log_sink */,
                              uint32_t level, const char *message) {
    static const char *const names[] = {"off", "error", "warn", "info", "debug", "trace"};
    std::fprintf(stderr, "tandem %s: %s\n", level < 6 ? names[level] : "?", message);
}

// Prints every alert not read yet; returns how many. An alert means the engine halted (SPEC §6):
// it votes no more until an operator looks.
int report_alerts(tandem::Engine &engine) {
    int count = 0;
    while (std::optional<tandem_alert> alert = engine.poll_alert()) {
        count++;
        std::cerr << "replay: ALERT: ";
        if (alert->kind == TANDEM_ALERT_UED_DIVERGENCE) {
            std::cerr << "UED divergence at slot " << alert->slot << ": local "
                      << hex(alert->local_hash, 32) << ", " << alert->other_stake << " of "
                      << alert->total_stake << " stake reported " << hex(alert->other_hash, 32)
                      << "\n";
        } else if (alert->kind == TANDEM_ALERT_UED_LAG) {
            std::cerr << "the UED lagged at the epoch boundary of slot " << alert->slot << "\n";
        } else {
            std::cerr << "kind " << alert->kind << " at slot " << alert->slot << "\n";
        }
    }
    return count;
}

// Submits every block of the ledger after `resumed_after` and prints each slot's line.
void replay(tandem::Engine &engine, LedgerReader &ledger, uint64_t resumed_after) {
    struct Pending {
        uint64_t slot;
        tandem::Hash ved_hash;
    };
    std::deque<Pending> pending; // VED hash known, UED hash not printed yet
    auto print_oldest = [&] {
        const Pending &p = pending.front();
        tandem::Hash ued_hash = engine.ued_hash(p.slot, WAIT_MS);
        std::cout << p.slot << ' ' << hex(p.ved_hash) << ' ' << hex(ued_hash) << '\n';
        pending.pop_front();
    };
    std::vector<uint8_t> block;
    while (ledger.next(block)) {
        uint64_t slot = read_le(block.data(), 8);
        if (slot <= resumed_after) {
            continue; // executed before: the engine refuses it
        }
        engine.submit_block(block);
        // The vote point: a validator votes with this hash as soon as it has it.
        pending.push_back({slot, engine.ved_hash(slot, WAIT_MS)});
        // The UED hash follows later; print the oldest slot once IN_FLIGHT blocks wait.
        if (pending.size() == IN_FLIGHT) {
            print_oldest();
        }
        if (report_alerts(engine) > 0) {
            throw std::runtime_error("the engine halted");
        }
    }
    while (!pending.empty()) {
        print_oldest();
    }
    if (report_alerts(engine) > 0) {
        throw std::runtime_error("the engine halted");
    }
}

} // namespace

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    uint32_t backend = TANDEM_BACKEND_AUTO;
    bool usage = args.size() != 3 && !(args.size() == 5 && args[3] == "--backend");
    if (args.size() == 5) {
        if (args[4] == "cpu") {
            backend = TANDEM_BACKEND_CPU;
        } else if (args[4] == "gpu") {
            backend = TANDEM_BACKEND_GPU;
        } else if (args[4] != "auto") {
            usage = true;
        }
    }
    if (usage) {
        std::cerr << "usage: " << argv[0]
                  << " GENESIS.toml LEDGER STORE_DIR [--backend cpu|auto|gpu]\n";
        return 2;
    }
    try {
        LedgerReader ledger(args[1]);
        // The sink first, so that what the engine logs while it opens goes there too. 3: errors,
        // warnings and information (alerts are errors; the store it resumed is information).
        tandem::check(tandem_set_log_sink(log_to_stderr, nullptr, 3));
        tandem::Engine engine(args[0], args[2], backend);
        std::cerr << engine.describe();

        // A store that already holds slots resumes after its last committed one, as `tandem
        // replay --store` does.
        uint64_t resumed_after = engine.metrics().ued_slot;
        if (resumed_after > 0) {
            std::cerr << "replay: the store resumes after slot " << resumed_after << "\n";
        }
        try {
            replay(engine, ledger, resumed_after);
        } catch (const tandem::Error &) {
            report_alerts(engine); // the reason, when the engine halted
            throw;
        }

        tandem_metrics m = engine.metrics();
        std::cerr << "replay: VED at slot " << m.ved_slot << ", UED at slot " << m.ued_slot
                  << " (largest lag " << m.max_ued_lag_slots << " slots); time to vote p50 "
                  << m.time_to_vote_p50_us << " us, p99 " << m.time_to_vote_p99_us << " us; "
                  << static_cast<uint64_t>(m.ved_tps) << " VED and "
                  << static_cast<uint64_t>(m.ued_tps) << " UED transactions/s\n";
    } catch (const tandem::Error &e) { // the engine closed as `engine` went out of scope
        std::cerr << "replay: error " << e.code() << " (" << tandem::status_name(e.code())
                  << "): " << e.what() << "\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "replay: " << e.what() << "\n";
        return 1;
    }
    std::cout.flush();
    return std::cout ? 0 : 1;
}
