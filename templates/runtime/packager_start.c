/* The start-up code `packager build` links into every program it builds.
 *
 * Linked with -Wl,--wrap=Py_InitializeEx, so whatever starts the interpreter (PyO3's
 * Python::initialize(), prepare_freethreaded_python(), the auto-initialize feature, or
 * anything else calling Py_InitializeEx) lands here, and the right interpreter starts:
 *
 *   - in a onefile program (`packager bundle --onefile` filled the slot below), an
 *     isolated interpreter whose only module search paths are inside this file;
 *   - in the bin/ folder of a `packager bundle` tree, one whose home is the bundle and
 *     which reads nothing of another Python's environment, so it finds the bundle's
 *     standard library, and only that, without a launcher;
 *   - elsewhere, the interpreter as Py_InitializeEx itself starts it.
 *
 * In the first two, PACKAGER_APP_DIR names the app's files (the bundle's app/ folder, or
 * app/ inside the file) when there are any. A program in a bundle made with --workdir
 * starts in that folder (before main()), as its launcher starts it. A bundle that ships Tcl/Tk for tkinter gets
 * TCL_LIBRARY, TK_LIBRARY and FONTCONFIG_FILE, as its launcher sets them. Then Python's sys.stdout and sys.stderr are
 * flushed when the process exits: PyO3 never finalizes the interpreter, so their buffers
 * would be lost to a pipe or a file.
 *
 * The payload (format 2) is a zip appended to this file: the modules, then the member
 * `packager-hashes` (a BLAKE2b-128 hash of each member's bytes, local header included),
 * then the central directory and the end record, whose comment describes the payload.
 * The slot's checksum covers the hash table, the directory and the end record. All of it
 * is checked before Python starts, with the few members Python reads before the boot
 * module; the boot module reads every other member through `_packager_payload.read`,
 * which checks it against its hash. A mismatch stops the program with exit status 70.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define EXIT_PAYLOAD 70 /* EX_SOFTWARE: the payload cannot be used */
#define FORMAT 2        /* the payload format this start-up code reads */
#define EOCD_SIZE 22
#define MAX_COMMENT 0xFFFF
#define LOCAL_HEADER_SIZE 30
#define DIRECTORY_HEADER_SIZE 46
#define COMMENT_MAGIC "packager-onefile 1"
#define TABLE_MEMBER "packager-hashes"
#define TABLE_ENTRY_SIZE 32
#define EARLY 1 /* table flag: Python reads the member before the boot module can check it */
#define BOOT_MODULE "_packager_boot"
#define APP_DIR_VARIABLE "PACKAGER_APP_DIR"
#define FIX "copy or download the file again"
#define FLUSH_WAIT_SECONDS 1 /* for a thread that holds the GIL when the process exits */

void __real_Py_InitializeEx(int install_signal_handlers);
void __wrap_Py_InitializeEx(int install_signal_handlers);
/* What atexit() calls. atexit itself lives in glibc's libc_nonshared.a, which GNU ld has
 * passed by when it reaches this archive (linker arguments come last); this is in libc. */
int __cxa_atexit(void (*function)(void *), void *argument, void *dso_handle);

/* Where the payload sits in this file. `packager bundle --onefile` finds the magic and
 * overwrites the fields; in a plain build they stay zero. Volatile: the compiler must
 * read the bytes patched into the file, not fold the initializer. */
struct payload_slot {
    char magic[24];
    uint64_t format;         /* 0: no payload; 2: a zip appended at `payload_offset` */
    uint64_t payload_offset; /* the size of the executable proper */
    uint64_t payload_size;   /* the zip, up to the end of the file */
    uint64_t table_offset;   /* the hash table member, from the start of the file */
    uint64_t checksum;       /* BLAKE2b-64 of everything from `table_offset` to the end */
};

__attribute__((used)) static const volatile struct payload_slot PAYLOAD_SLOT = {
    "packager-onefile-slot:v1", 0, 0, 0, 0, 0};

/* One entry of the hash table: where a member's bytes are and what they hash to. */
struct member_hash {
    uint64_t offset; /* of its local header, from the start of the zip */
    uint64_t length; /* local header, name, extra field and data */
    uint32_t flags;
    unsigned char digest[16];
};

/* The checked payload: how to start Python, and how to check what it reads later. */
static struct {
    char *executable;
    int fd;
    uint64_t zip_offset;
    struct member_hash *members; /* in offset order */
    size_t member_count;
    char **search_paths;
    size_t path_count;
    int has_app;
} payload;
static int payload_ready;

/* The bytes from the hash table to the end of the file, once checked. */
struct checked_region {
    unsigned char *bytes;
    size_t size;
    size_t entries;      /* in the central directory, the hash table's own included */
    size_t directory_at; /* in `bytes` */
    size_t end_at;       /* the end record, in `bytes` */
};

/* -- messages ------------------------------------------------------------------------ */

static void fail(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void fail(const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    fputs("packager: ", stderr);
    vfprintf(stderr, format, arguments);
    fputc('\n', stderr);
    va_end(arguments);
    exit(EXIT_PAYLOAD);
}

#define DAMAGED "the bundled Python payload is damaged: "

/* -- BLAKE2b (RFC 7693), unkeyed: Python's hashlib.blake2b(data, digest_size=N) ------ */

static const uint64_t BLAKE2B_IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
    0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
    0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static uint16_t u16_at(const unsigned char *bytes) {
    return (uint16_t)(bytes[0] | (bytes[1] << 8));
}

static uint32_t u32_at(const unsigned char *bytes) {
    return (uint32_t)bytes[0] | ((uint32_t)bytes[1] << 8) | ((uint32_t)bytes[2] << 16) |
           ((uint32_t)bytes[3] << 24);
}

static uint64_t u64_at(const unsigned char *bytes) {
    return (uint64_t)u32_at(bytes) | ((uint64_t)u32_at(bytes + 4) << 32);
}

/* The rounds are written out with the message schedule (RFC 7693's SIGMA, rows 0-9, then
 * 0 and 1 again) as constants, and the state in sixteen locals: the compiler keeps the state
 * in registers, which makes hashing the modules a program loads about three times faster
 * than a loop over a table. At -O2 (not -Os) u64_at becomes one load. */
#define B2_ROTR(word, bits) (((word) >> (bits)) | ((word) << (64 - (bits))))
#define B2_G(a, b, c, d, x, y)      \
    do {                            \
        a = a + b + (x);            \
        d = B2_ROTR(d ^ a, 32);     \
        c = c + d;                  \
        b = B2_ROTR(b ^ c, 24);     \
        a = a + b + (y);            \
        d = B2_ROTR(d ^ a, 16);     \
        c = c + d;                  \
        b = B2_ROTR(b ^ c, 63);     \
    } while (0)
#define B2_ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
    do {                                                                             \
        B2_G(v0, v4, v8, v12, m[s0], m[s1]);                                         \
        B2_G(v1, v5, v9, v13, m[s2], m[s3]);                                         \
        B2_G(v2, v6, v10, v14, m[s4], m[s5]);                                        \
        B2_G(v3, v7, v11, v15, m[s6], m[s7]);                                        \
        B2_G(v0, v5, v10, v15, m[s8], m[s9]);                                        \
        B2_G(v1, v6, v11, v12, m[s10], m[s11]);                                      \
        B2_G(v2, v7, v8, v13, m[s12], m[s13]);                                       \
        B2_G(v3, v4, v9, v14, m[s14], m[s15]);                                       \
    } while (0)

static void blake2b_compress(uint64_t state[8], const unsigned char *block, uint64_t counter,
                             int last) {
    uint64_t m[16];
    for (int i = 0; i < 16; i++) m[i] = u64_at(block + 8 * i);
    uint64_t v0 = state[0], v1 = state[1], v2 = state[2], v3 = state[3];
    uint64_t v4 = state[4], v5 = state[5], v6 = state[6], v7 = state[7];
    uint64_t v8 = BLAKE2B_IV[0], v9 = BLAKE2B_IV[1], v10 = BLAKE2B_IV[2], v11 = BLAKE2B_IV[3];
    uint64_t v12 = BLAKE2B_IV[4] ^ counter, v13 = BLAKE2B_IV[5];
    uint64_t v14 = last ? ~BLAKE2B_IV[6] : BLAKE2B_IV[6], v15 = BLAKE2B_IV[7];
    B2_ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    B2_ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
    B2_ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);
    B2_ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);
    B2_ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);
    B2_ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);
    B2_ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);
    B2_ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);
    B2_ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);
    B2_ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);
    B2_ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    B2_ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
    state[0] ^= v0 ^ v8;
    state[1] ^= v1 ^ v9;
    state[2] ^= v2 ^ v10;
    state[3] ^= v3 ^ v11;
    state[4] ^= v4 ^ v12;
    state[5] ^= v5 ^ v13;
    state[6] ^= v6 ^ v14;
    state[7] ^= v7 ^ v15;
}

static void blake2b(const unsigned char *data, size_t size, unsigned char *digest,
                    size_t digest_size) {
    uint64_t state[8];
    unsigned char last[128] = {0};
    memcpy(state, BLAKE2B_IV, sizeof state);
    state[0] ^= 0x01010000ULL ^ digest_size;
    /* The last block, full or not (a zero block for no data), is compressed as the final one. */
    size_t last_start = size ? (size - 1) / 128 * 128 : 0;
    for (size_t at = 0; at < last_start; at += 128)
        blake2b_compress(state, data + at, (uint64_t)at + 128, 0);
    memcpy(last, data + last_start, size - last_start);
    blake2b_compress(state, last, (uint64_t)size, 1);
    for (size_t i = 0; i < digest_size; i++)
        digest[i] = (unsigned char)(state[i / 8] >> (8 * (i % 8)));
}

/* -- the payload ----------------------------------------------------------------------- */

/* This executable's own path, as the kernel knows it; NULL with errno set. */
static char *own_executable(void) {
    char buffer[PATH_MAX];
    ssize_t length = readlink("/proc/self/exe", buffer, sizeof buffer - 1);
    if (length < 0) return NULL;
    buffer[length] = '\0';
    return strdup(buffer);
}

static int read_at(int fd, unsigned char *buffer, size_t size, uint64_t offset) {
    while (size > 0) {
        ssize_t done = pread(fd, buffer, size, (off_t)offset);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) {
            if (done == 0) errno = EIO;
            return -1;
        }
        buffer += done;
        size -= (size_t)done;
        offset += (uint64_t)done;
    }
    return 0;
}

/* The position of the end record in `end` (the last bytes of the file): the last
 * signature whose comment reaches exactly to the end; -1 when there is none. */
static long end_record(const unsigned char *end, size_t size) {
    if (size < EOCD_SIZE) return -1;
    for (size_t at = size - EOCD_SIZE + 1; at-- > 0;) {
        if (memcmp(end + at, "PK\x05\x06", 4) == 0 &&
            EOCD_SIZE + (size_t)u16_at(end + at + 20) == size - at)
            return (long)at;
    }
    return -1;
}

/* Fill `checked` with the bytes from the hash table to the end of the file, once the slot
 * agrees with the zip's end record and they match the slot's checksum; NULL, or why not. */
static const char *check_region(const struct payload_slot *slot, uint64_t size,
                                struct checked_region *checked) {
    static char read_error[160];
    uint64_t end_start = size > EOCD_SIZE + MAX_COMMENT ? size - (EOCD_SIZE + MAX_COMMENT) : 0;
    if (end_start < slot->payload_offset) end_start = slot->payload_offset;
    size_t end_size = (size_t)(size - end_start);
    unsigned char *end = malloc(end_size ? end_size : 1);
    if (end == NULL || read_at(payload.fd, end, end_size, end_start) != 0) {
        snprintf(read_error, sizeof read_error, "cannot read the module archive: %s",
                 strerror(errno));
        free(end);
        return read_error;
    }
    long at = end_record(end, end_size);
    if (at < 0) {
        free(end);
        return "the module archive's end record is missing";
    }
    const unsigned char *record = end + at;
    size_t entries = u16_at(record + 10);
    int single_disk = u16_at(record + 4) == 0 && u16_at(record + 6) == 0 &&
                      u16_at(record + 8) == entries;
    uint64_t directory_size = u32_at(record + 12);
    uint64_t directory_start = slot->payload_offset + u32_at(record + 16);
    uint64_t end_position = end_start + (uint64_t)at;
    free(end);
    /* The work below is bounded by the real directory: the table it implies (one entry
     * per member) must end where the directory starts, and the directory where the record
     * is. */
    uint64_t table_size = LOCAL_HEADER_SIZE + strlen(TABLE_MEMBER) +
                          (uint64_t)TABLE_ENTRY_SIZE * (entries ? entries - 1 : 0);
    int consistent = single_disk && entries > 0 &&
                     directory_start + directory_size == end_position &&
                     slot->table_offset >= slot->payload_offset &&
                     slot->table_offset <= UINT64_MAX - table_size &&
                     slot->table_offset + table_size == directory_start;
    if (!consistent) return "the payload's layout record is inconsistent with its module archive";
    checked->size = (size_t)(size - slot->table_offset);
    checked->bytes = malloc(checked->size);
    if (checked->bytes == NULL ||
        read_at(payload.fd, checked->bytes, checked->size, slot->table_offset) != 0) {
        snprintf(read_error, sizeof read_error, "cannot read the module archive: %s",
                 strerror(errno));
        return read_error;
    }
    unsigned char digest[8];
    blake2b(checked->bytes, checked->size, digest, sizeof digest);
    if (u64_at(digest) != slot->checksum)
        return "the module archive's table of contents does not match the checksum written "
               "when it was built";
    checked->entries = entries;
    checked->directory_at = (size_t)table_size;
    checked->end_at = (size_t)(end_position - slot->table_offset);
    return NULL;
}

/* Read the hash table (the member at the start of the checked region), checked for shape:
 * entries in order, apart, each before the table. NULL, or why not. */
static const char *read_member_hashes(const struct checked_region *checked,
                                      uint64_t table_start) {
    const char *malformed = "the module archive's hash table is malformed";
    const unsigned char *region = checked->bytes;
    size_t data_size = TABLE_ENTRY_SIZE * (checked->entries - 1);
    size_t name_size = strlen(TABLE_MEMBER);
    size_t name_end = LOCAL_HEADER_SIZE + name_size;
    int well_formed = memcmp(region, "PK\x03\x04", 4) == 0 && u16_at(region + 8) == 0 &&
                      u32_at(region + 18) == data_size && u32_at(region + 22) == data_size &&
                      u16_at(region + 26) == name_size && u16_at(region + 28) == 0 &&
                      memcmp(region + LOCAL_HEADER_SIZE, TABLE_MEMBER, name_size) == 0;
    if (!well_formed) return malformed;
    payload.member_count = checked->entries - 1;
    payload.members = calloc(payload.member_count + 1, sizeof *payload.members);
    if (payload.members == NULL) return "out of memory";
    uint64_t free_from = 0;
    for (size_t i = 0; i < payload.member_count; i++) {
        const unsigned char *entry = region + name_end + i * TABLE_ENTRY_SIZE;
        struct member_hash *member = &payload.members[i];
        member->offset = u64_at(entry);
        member->length = u32_at(entry + 8);
        member->flags = u32_at(entry + 12);
        memcpy(member->digest, entry + 16, sizeof member->digest);
        if (member->offset < free_from || member->length < LOCAL_HEADER_SIZE ||
            member->offset > table_start || member->length > table_start - member->offset)
            return malformed;
        free_from = member->offset + member->length;
    }
    return NULL;
}

/* The bytes of `member` (local header included), read from the file and checked against
 * its hash, in a buffer the caller frees; NULL and `*reason` set when they cannot be. */
static unsigned char *member_bytes(const struct member_hash *member, const char **reason) {
    unsigned char *bytes = malloc((size_t)member->length);
    if (bytes == NULL ||
        read_at(payload.fd, bytes, (size_t)member->length, payload.zip_offset + member->offset)) {
        free(bytes);
        *reason = "cannot be read";
        return NULL;
    }
    unsigned char digest[16];
    blake2b(bytes, (size_t)member->length, digest, sizeof digest);
    if (memcmp(digest, member->digest, sizeof digest) != 0) {
        free(bytes);
        *reason = "does not match the hash written when it was built";
        return NULL;
    }
    return bytes;
}

/* The name the central directory gives the member at `offset` (from the start of the
 * zip), written into `name`. */
static void member_name(const struct checked_region *checked, uint64_t offset, char *name,
                        size_t name_size) {
    const unsigned char *directory = checked->bytes + checked->directory_at;
    size_t size = checked->end_at - checked->directory_at;
    size_t at = 0;
    while (at + DIRECTORY_HEADER_SIZE <= size && memcmp(directory + at, "PK\x01\x02", 4) == 0) {
        size_t length = u16_at(directory + at + 28);
        size_t name_end = at + DIRECTORY_HEADER_SIZE + length;
        if (name_end > size) break;
        if (u32_at(directory + at + 42) == offset) {
            snprintf(name, name_size, "%.*s", (int)length,
                     (const char *)directory + at + DIRECTORY_HEADER_SIZE);
            return;
        }
        at = name_end + u16_at(directory + at + 30) + u16_at(directory + at + 32);
    }
    snprintf(name, name_size, "the member at offset %llu", (unsigned long long)offset);
}

/* Whether `text` is well-formed UTF-8. */
static int is_utf8(const unsigned char *text, size_t size) {
    size_t at = 0;
    while (at < size) {
        unsigned char lead = text[at];
        size_t more = lead < 0x80 ? 0 : lead >= 0xC2 && lead <= 0xDF ? 1
                                     : lead >= 0xE0 && lead <= 0xEF ? 2
                                     : lead >= 0xF0 && lead <= 0xF4 ? 3
                                                                     : 4;
        if (more == 4 || more >= size - at) return 0;
        for (size_t i = 1; i <= more; i++)
            if ((text[at + i] & 0xC0) != 0x80) return 0;
        if ((lead == 0xE0 && text[at + 1] < 0xA0) || (lead == 0xED && text[at + 1] > 0x9F) ||
            (lead == 0xF0 && text[at + 1] < 0x90) || (lead == 0xF4 && text[at + 1] > 0x8F))
            return 0;
        at += more + 1;
    }
    return 1;
}

/* "." (the archive root) or a path inside the archive: no "..", "." or empty parts. */
static int relative_path(const char *value) {
    if (strcmp(value, ".") == 0) return 1;
    const char *part = value;
    for (;;) {
        const char *slash = strchr(part, '/');
        size_t length = slash ? (size_t)(slash - part) : strlen(part);
        if (length == 0 || (length == 1 && part[0] == '.') ||
            (length == 2 && part[0] == '.' && part[1] == '.'))
            return 0;
        if (slash == NULL) return 1;
        part = slash + 1;
    }
}

static char *joined(const char *directory, const char *name) {
    size_t size = strlen(directory) + 1 + strlen(name) + 1;
    char *path = malloc(size);
    if (path != NULL) snprintf(path, size, "%s/%s", directory, name);
    return path;
}

/* Read the module search paths the payload description gives. Every line must be well
 * formed: a payload whose description was altered is not started. NULL, or why not. */
static const char *read_description(char *comment, char *reason, size_t reason_size) {
    size_t size = strlen(comment);
    if (size == 0 || comment[size - 1] != '\n')
        return "the zip comment is not a payload description";
    comment[size - 1] = '\0';
    char *line = comment;
    char *next = strchr(line, '\n');
    if (next != NULL) *next++ = '\0';
    if (strcmp(line, COMMENT_MAGIC) != 0) return "the zip comment is not a payload description";
    int seen[3] = {0, 0, 0};
    payload.search_paths = calloc(size / 2 + 1, sizeof *payload.search_paths);
    if (payload.search_paths == NULL) return "out of memory";
    while ((line = next) != NULL) {
        next = strchr(line, '\n');
        if (next != NULL) *next++ = '\0';
        char *value = strchr(line, ' ');
        int once = -1;
        if (value != NULL) {
            *value++ = '\0';
            once = strcmp(line, "python") == 0       ? 0
                   : strcmp(line, "entry") == 0      ? 1
                   : strcmp(line, "extensions") == 0 ? 2
                                                     : -1;
            if (once < 0 && strcmp(line, "path") == 0 && relative_path(value)) {
                char *path = strcmp(value, ".") == 0 ? strdup(payload.executable)
                                                     : joined(payload.executable, value);
                if (path == NULL) return "out of memory";
                payload.search_paths[payload.path_count++] = path;
                payload.has_app |= strcmp(value, "app") == 0;
                continue;
            }
            size_t length = strlen(value);
            int number = length >= 1 && length <= 9 && strspn(value, "0123456789") == length;
            if (once >= 0 && (seen[once] || (once == 2 && !number))) once = -1;
            value[-1] = ' ';
        }
        if (once < 0) {
            int shown = 120; /* of a line that may be long: a reason fits on a screen */
            snprintf(reason, reason_size, "the payload description's line \"%.*s%s\" is malformed",
                     shown, line, (int)strlen(line) > shown ? "..." : "");
            return reason;
        }
        seen[once] = 1;
    }
    if (!seen[0] || !seen[1] || !seen[2]) return "the payload description is incomplete";
    return NULL;
}

/* Check the payload described by `slot` before anything of it is used; exits the
 * program with the reason when it cannot be. */
static void open_payload(const struct payload_slot *slot) {
    char reason[4096];
    payload.executable = own_executable();
    if (payload.executable == NULL)
        fail("cannot find this executable's own file to read its modules from: %s",
             strerror(errno));
    const char *shown = payload.executable;
    if (slot->format != FORMAT)
        fail(DAMAGED "%s: its payload is format %llu, but this program reads format %d; "
                     "rebuild it with `packager bundle --onefile`",
             shown, (unsigned long long)slot->format, FORMAT);
    payload.fd = open(payload.executable, O_RDONLY | O_CLOEXEC);
    if (payload.fd < 0) fail("cannot open %s: %s", shown, strerror(errno));
    struct stat status;
    if (fstat(payload.fd, &status) != 0) fail("cannot read %s: %s", shown, strerror(errno));
    uint64_t size = (uint64_t)status.st_size;
    uint64_t expected = slot->payload_offset + slot->payload_size;
    if (expected < slot->payload_offset) expected = UINT64_MAX;
    if (size != expected)
        fail(DAMAGED "%s is %llu bytes long but was written as %llu bytes (truncated or "
                     "appended to); " FIX,
             shown, (unsigned long long)size, (unsigned long long)expected);
    struct checked_region checked = {0};
    const char *problem = check_region(slot, size, &checked);
    payload.zip_offset = slot->payload_offset;
    if (problem == NULL)
        problem = read_member_hashes(&checked, slot->table_offset - slot->payload_offset);
    if (problem != NULL) fail(DAMAGED "%s: %s; " FIX, shown, problem);
    size_t comment_size = checked.size - checked.end_at - EOCD_SIZE;
    const unsigned char *comment_bytes = checked.bytes + checked.end_at + EOCD_SIZE;
    if (!is_utf8(comment_bytes, comment_size) || memchr(comment_bytes, 0, comment_size))
        fail(DAMAGED "%s: the zip comment is not text; " FIX, shown);
    char *comment = strndup((const char *)comment_bytes, comment_size);
    if (comment == NULL) fail("out of memory");
    problem = read_description(comment, reason, sizeof reason);
    if (problem != NULL) fail(DAMAGED "%s: %s; " FIX, shown, problem);
    free(comment);
    /* What Python reads before the boot module can check it is checked here. */
    for (size_t i = 0; i < payload.member_count; i++) {
        const struct member_hash *member = &payload.members[i];
        if (!(member->flags & EARLY)) continue;
        unsigned char *bytes = member_bytes(member, &problem);
        if (bytes == NULL) {
            member_name(&checked, member->offset, reason, sizeof reason);
            fail(DAMAGED "%s: %s %s; " FIX, shown, reason, problem);
        }
        free(bytes);
    }
    free(checked.bytes);
    payload_ready = 1;
}

/* The hash-table entry of the member whose local header is at `offset` in the file;
 * NULL when there is none. */
static const struct member_hash *find_member(uint64_t offset) {
    if (offset < payload.zip_offset) return NULL;
    uint64_t relative = offset - payload.zip_offset;
    size_t low = 0, high = payload.member_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (payload.members[middle].offset < relative) low = middle + 1;
        else high = middle;
    }
    if (low < payload.member_count && payload.members[low].offset == relative)
        return &payload.members[low];
    return NULL;
}

/* The data of the member whose local header is at `offset` in the file, as the central
 * directory describes it (`size` bytes, zip `method`), checked against its hash. */
static unsigned char *member_data(uint64_t offset, uint64_t size, unsigned method,
                                  size_t *data_size, const char **reason) {
    if (method != 0 && method != 8) {
        *reason = "is compressed with a method this program cannot read";
        return NULL;
    }
    const struct member_hash *member = find_member(offset);
    if (member == NULL) {
        *reason = "has no hash in the module archive";
        return NULL;
    }
    unsigned char *bytes = member_bytes(member, reason);
    if (bytes == NULL) return NULL;
    uint64_t data_start = LOCAL_HEADER_SIZE + (uint64_t)u16_at(bytes + 26) + u16_at(bytes + 28);
    if (memcmp(bytes, "PK\x03\x04", 4) != 0 || size > UINT64_MAX - data_start ||
        data_start + size != member->length) {
        free(bytes);
        *reason = "does not match its entry in the table of contents";
        return NULL;
    }
    memmove(bytes, bytes + data_start, (size_t)size);
    *data_size = (size_t)size;
    return bytes;
}

/* -- _packager_payload: the boot module reads every member of the archive through it -- */

static int number_argument(PyObject *args, Py_ssize_t index, uint64_t limit, uint64_t *value) {
    PyObject *item = PyTuple_GetItem(args, index);
    if (item == NULL) return 0;
    unsigned long long number = PyLong_AsUnsignedLongLong(item);
    if (number == (unsigned long long)-1 && PyErr_Occurred()) return 0;
    if (number > limit) return 0;
    *value = number;
    return 1;
}

/* read(name, offset, size, method): the data of the member `name` whose local header is
 * at `offset` in the file (`size` bytes, zip `method`), checked against its hash. Stops
 * the program when it does not match: its code or data must not be used. */
static PyObject *read_member(PyObject *module, PyObject *args) {
    (void)module;
    uint64_t offset, size, method;
    PyObject *name_object = PyTuple_GetItem(args, 0);
    const char *name = name_object ? PyUnicode_AsUTF8(name_object) : NULL;
    if (name == NULL || !number_argument(args, 1, UINT64_MAX, &offset) ||
        !number_argument(args, 2, UINT64_MAX, &size) ||
        !number_argument(args, 3, UINT16_MAX, &method)) {
        PyErr_Clear();
        PyErr_SetString(PyExc_TypeError, "read(name: str, offset: int, size: int, method: int)");
        return NULL;
    }
    if (!payload_ready) fail("_packager_payload is only usable in a onefile program");
    size_t data_size = 0;
    const char *reason = NULL;
    unsigned char *data = member_data(offset, size, (unsigned)method, &data_size, &reason);
    if (data == NULL) /* the exit flushes what the program wrote so far */
        fail(DAMAGED "%s: %s %s; " FIX, payload.executable, name, reason);
    PyObject *bytes = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)data_size);
    free(data);
    return bytes;
}

/* digest(offset): the hash the checked table gives the member whose local header is at
 * `offset` in the file (16 bytes): what its copy in the user's cache is named by. */
static PyObject *member_digest(PyObject *module, PyObject *args) {
    (void)module;
    unsigned long long offset;
    if (!PyArg_ParseTuple(args, "K:digest", &offset)) return NULL;
    if (!payload_ready) fail("_packager_payload is only usable in a onefile program");
    const struct member_hash *member = find_member((uint64_t)offset);
    if (member == NULL) {
        PyErr_SetString(PyExc_KeyError, "no member of the module archive starts there");
        return NULL;
    }
    return PyBytes_FromStringAndSize((const char *)member->digest, sizeof member->digest);
}

/* secure(): whether the kernel started this program with raised privileges (setuid,
 * setgid, file capabilities: AT_SECURE), when nothing the caller controls may be loaded. */
static PyObject *secure_start(PyObject *module, PyObject *args) {
    (void)module;
    (void)args;
    return PyBool_FromLong(getauxval(AT_SECURE) != 0);
}

/* load_library(path): load a shared library that a package ships beside its compiled
 * modules (auditwheel's pkg.libs/), from the memory file or cached copy at `path`. The loader then finds
 * it by its soname when a module that needs it is loaded. It stays loaded. */
static PyObject *load_library(PyObject *module, PyObject *args) {
    (void)module;
    const char *path;
    if (!PyArg_ParseTuple(args, "s:load_library", &path)) return NULL;
    if (dlopen(path, RTLD_NOW | RTLD_LOCAL) == NULL) {
        const char *error = dlerror();
        PyErr_SetString(PyExc_ImportError, error != NULL ? error : "dlopen failed");
        return NULL;
    }
    Py_RETURN_NONE;
}

/* memfd_create(name): an anonymous memory file, through the system call itself: a Python
 * built against a glibc older than 2.27 (a portable runtime) has no os.memfd_create. */
static PyObject *memfd(PyObject *module, PyObject *args) {
    (void)module;
    const char *name;
    if (!PyArg_ParseTuple(args, "s:memfd_create", &name)) return NULL;
    long descriptor = syscall(SYS_memfd_create, name, 1U /* MFD_CLOEXEC */);
    if (descriptor < 0) return PyErr_SetFromErrno(PyExc_OSError);
    return PyLong_FromLong(descriptor);
}

static PyMethodDef PAYLOAD_METHODS[] = {
    {"memfd_create", memfd, METH_VARARGS,
     "memfd_create(name): the descriptor of a new anonymous memory file (close-on-exec)"},
    {"read", read_member, METH_VARARGS,
     "read(name, offset, size, method): the data of an archive member, checked"},
    {"secure", secure_start, METH_NOARGS,
     "secure(): whether the program was started with raised privileges (AT_SECURE)"},
    {"digest", member_digest, METH_VARARGS,
     "digest(offset): the checked hash of the member whose local header is at offset"},
    {"load_library", load_library, METH_VARARGS,
     "load_library(path): load a shared library a compiled module needs"},
    {NULL, NULL, 0, NULL}};

static struct PyModuleDef PAYLOAD_MODULE = {
    PyModuleDef_HEAD_INIT, "_packager_payload", NULL, 0, PAYLOAD_METHODS, NULL, NULL, NULL, NULL};

static PyObject *init_payload_module(void) {
    PyObject *module = PyModule_Create(&PAYLOAD_MODULE);
#ifdef Py_GIL_DISABLED
    if (module != NULL) PyUnstable_Module_SetGIL(module, Py_MOD_GIL_NOT_USED);
#endif
    return module;
}

/* -- starting the interpreter ---------------------------------------------------------- */

static const char *status_text(PyStatus status, char *text, size_t size) {
    if (status.func != NULL)
        snprintf(text, size, "%s: %s", status.func, status.err_msg ? status.err_msg : "");
    else
        snprintf(text, size, "%s", status.err_msg ? status.err_msg : "");
    return text;
}

static int set_string(PyConfig *config, wchar_t **field, const char *value, char *why,
                      size_t why_size) {
    PyStatus status = PyConfig_SetBytesString(config, field, value);
    if (!PyStatus_Exception(status)) return 1;
    char text[512];
    snprintf(why, why_size, "cannot configure Python: %s", status_text(status, text, sizeof text));
    return 0;
}

/* Start the interpreter from `config` (cleared here); exit as it asks, or with `failure`
 * and its reason when it cannot start. */
static void start_with(PyConfig *config, const char *failure) {
    PyStatus status = Py_InitializeFromConfig(config);
    PyConfig_Clear(config);
    if (PyStatus_IsExit(status)) exit(status.exitcode);
    if (PyStatus_Exception(status)) {
        char text[512];
        fail("%s: %s", failure, status_text(status, text, sizeof text));
    }
}

/* An isolated interpreter whose only module search paths are inside this file. */
static void start_from_payload(int install_signal_handlers) {
    char why[1024];
    PyPreConfig preconfig;
    PyPreConfig_InitIsolatedConfig(&preconfig);
    /* UTF-8 whatever the locale (PEP 540): the file has no locale-dependent paths. */
    preconfig.utf8_mode = 1;
    PyStatus status = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(status))
        fail("cannot start Python: %s", status_text(status, why, sizeof why));

    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    /* As `python -I -S`: no site, no environment, no writes beside the modules. */
    config.site_import = 0;
    config.user_site_directory = 0;
    config.write_bytecode = 0;
    config.pathconfig_warnings = 0;
    config.install_signal_handlers = install_signal_handlers;
    char *home = strdup(payload.executable);
    char *slash = home ? strrchr(home, '/') : NULL;
    if (slash != NULL) *(slash == home ? slash + 1 : slash) = '\0';
    /* Points every path Python would otherwise search for into this file. */
    wchar_t **executables[] = {&config.executable, &config.base_executable, &config.program_name};
    wchar_t **homes[] = {&config.home, &config.prefix, &config.base_prefix, &config.exec_prefix,
                         &config.base_exec_prefix};
    int ok = home != NULL;
    for (size_t i = 0; ok && i < 3; i++)
        ok = set_string(&config, executables[i], payload.executable, why, sizeof why);
    for (size_t i = 0; ok && i < 5; i++) ok = set_string(&config, homes[i], home, why, sizeof why);
    free(home);
    config.module_search_paths_set = 1;
    for (size_t i = 0; ok && i < payload.path_count; i++) {
        wchar_t *wide = Py_DecodeLocale(payload.search_paths[i], NULL);
        if (wide == NULL) {
            snprintf(why, sizeof why, "cannot decode the path %s", payload.search_paths[i]);
            ok = 0;
            break;
        }
        status = PyWideStringList_Append(&config.module_search_paths, wide);
        PyMem_RawFree(wide);
        if (PyStatus_Exception(status)) {
            char text[512];
            snprintf(why, sizeof why, "cannot configure Python: %s",
                     status_text(status, text, sizeof text));
            ok = 0;
        }
    }
    if (!ok) {
        PyConfig_Clear(&config);
        fail("%s", why);
    }
    snprintf(why, sizeof why, DAMAGED "Python cannot start from %s", payload.executable);
    start_with(&config, why);
    PyObject *boot = PyImport_ImportModule(BOOT_MODULE);
    if (boot == NULL) {
        PyErr_Print();
        fail(DAMAGED "cannot import " BOOT_MODULE " from %s", payload.executable);
    }
    Py_DECREF(boot);
}

/* The bundle folder when this executable is PREFIX/bin/NAME and PREFIX/lib holds a
 * standard library (python3.X/os.pyc or os.py, or python3X.zip from older packagers), as
 * `packager bundle` lays out;
 * NULL otherwise. A PYTHONHOME set for another Python does not move it: the bundle's
 * libpython runs with the bundle's standard library (the launcher sets it to PREFIX). */
static char *bundle_prefix(void) {
    char *prefix = own_executable();
    for (int up = 0; prefix != NULL && up < 2; up++) {
        char *slash = strrchr(prefix, '/');
        if (slash == NULL || slash == prefix) {
            free(prefix);
            return NULL;
        }
        *slash = '\0';
    }
    if (prefix == NULL) return NULL;
    char path[PATH_MAX];
    struct stat status;
    snprintf(path, sizeof path, "%s/lib/python%d%d.zip", prefix, PY_MAJOR_VERSION,
             PY_MINOR_VERSION);
    int found = stat(path, &status) == 0 && S_ISREG(status.st_mode);
    const char *landmarks[] = {"os.pyc", "os.py"};
    for (size_t i = 0; !found && i < 2; i++) {
        snprintf(path, sizeof path, "%s/lib/python%d.%d/%s", prefix, PY_MAJOR_VERSION,
                 PY_MINOR_VERSION, landmarks[i]);
        found = stat(path, &status) == 0 && S_ISREG(status.st_mode);
    }
    if (!found) {
        free(prefix);
        return NULL;
    }
    return prefix;
}

/* Whether `path` is a regular file. */
static int is_file(const char *path) {
    struct stat status;
    return path != NULL && stat(path, &status) == 0 && S_ISREG(status.st_mode);
}

/* Set `variable` to PREFIX/`relative` unless it is set already. */
static void set_bundle_path(const char *variable, const char *prefix, const char *relative) {
    if (getenv(variable) != NULL) return;
    char *path = joined(prefix, relative);
    if (path != NULL) setenv(variable, path, 0);
    free(path);
}

/* A bundle that ships Tcl/Tk (lib/tclX.Y with init.tcl, lib/tkX.Y, lib/fonts/fonts.conf,
 * as `packager bundle` lays them out for tkinter): point Tcl, Tk and fontconfig at them,
 * as the launcher does, so Tcl never searches the system's or the working directory's
 * script library. Variables already set are left alone. */
static void point_tcl_at_bundle(const char *prefix) {
    char *lib = joined(prefix, "lib");
    DIR *listing = lib != NULL ? opendir(lib) : NULL;
    struct dirent *entry;
    char tcl[64] = "", tk[64] = "";
    while (listing != NULL && (entry = readdir(listing)) != NULL) {
        const char *version = entry->d_name + 3;
        if (strncmp(entry->d_name, "tcl", 3) != 0 || *version < '0' || *version > '9' ||
            strlen(entry->d_name) >= sizeof tcl - sizeof "lib//init.tcl")
            continue;
        snprintf(tcl, sizeof tcl, "lib/%s", entry->d_name);
        snprintf(tk, sizeof tk, "lib/tk%s", version);
        char *init = joined(prefix, tcl);
        char *script = init != NULL ? joined(init, "init.tcl") : NULL;
        int found = is_file(script);
        free(script);
        free(init);
        if (found) break;
        tcl[0] = '\0';
    }
    if (listing != NULL) closedir(listing);
    free(lib);
    if (tcl[0] == '\0') return;
    set_bundle_path("TCL_LIBRARY", prefix, tcl);
    set_bundle_path("TK_LIBRARY", prefix, tk);
    char *fonts = joined(prefix, "lib/fonts/fonts.conf");
    if (is_file(fonts)) set_bundle_path("FONTCONFIG_FILE", prefix, "lib/fonts/fonts.conf");
    free(fonts);
}

/* A bundle made with --workdir DIR names DIR in PREFIX/lib/packager-workdir: the program
 * starts there whichever way it is run, as its launcher starts it. A name that is not a
 * folder inside the bundle is refused. */
static void enter_workdir(const char *prefix) {
    char *record = joined(prefix, "lib/packager-workdir");
    FILE *stream = record != NULL ? fopen(record, "r") : NULL;
    free(record);
    if (stream == NULL) return;
    char folder[PATH_MAX];
    int got = fgets(folder, sizeof folder, stream) != NULL;
    fclose(stream);
    folder[got ? strcspn(folder, "\n") : 0] = '\0';
    if (folder[0] == '\0' || !relative_path(folder) || strcmp(folder, ".") == 0)
        fail("the bundle at %s names no folder of its own to start in (lib/packager-workdir)",
             prefix);
    char *target = joined(prefix, folder);
    if (target == NULL || chdir(target) != 0)
        fail("cannot change to the folder '%s/%s': %s", prefix, folder, strerror(errno));
    free(target);
}

#define RESTORE_HOOK "_packager_restore_env"

/* The bundle's site-packages folder in `stdlib_dir` (dist-packages where the interpreter's
 * site module names it so, as Debian's does), written to `path`; 0 when it has none. */
static int site_packages_of(const char *stdlib_dir, char *path, size_t size) {
    const char *names[] = {"site-packages", "dist-packages"};
    struct stat status;
    for (size_t i = 0; i < 2; i++) {
        int length = snprintf(path, size, "%s/%s", stdlib_dir, names[i]);
        if (length > 0 && (size_t)length < size && stat(path, &status) == 0 &&
            S_ISDIR(status.st_mode))
            return 1;
    }
    return 0;
}

/* Whether `site_packages` needs the site module: a .pth file other than the restore hook's,
 * or a sitecustomize or usercustomize module. `hook` says whether the hook's .pth is there. */
static int needs_site(const char *site_packages, int *hook) {
    DIR *listing = opendir(site_packages);
    if (listing == NULL) return 1;
    int needed = 0;
    struct dirent *entry;
    *hook = 0;
    while (!needed && (entry = readdir(listing)) != NULL) {
        const char *name = entry->d_name;
        size_t length = strlen(name);
        if (strcmp(name, RESTORE_HOOK ".pth") == 0)
            *hook = 1;
        else
            needed = (length > 4 && strcmp(name + length - 4, ".pth") == 0) ||
                     strncmp(name, "sitecustomize", 13) == 0 ||
                     strncmp(name, "usercustomize", 13) == 0;
    }
    closedir(listing);
    return needed;
}

/* Whether `folder` holds a sitecustomize module (.py, .pyc or a package), which site
 * imports from anywhere on the path: one in the stdlib or lib-dynload needs site too. */
static int has_sitecustomize(const char *folder) {
    static const char *const names[] = {"sitecustomize.py", "sitecustomize.pyc", "sitecustomize"};
    char path[PATH_MAX];
    struct stat status;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        int length = snprintf(path, sizeof path, "%s/%s", folder, names[i]);
        if (length < 0 || (size_t)length >= sizeof path || stat(path, &status) == 0) return 1;
    }
    return 0;
}

/* Call `name` of `module` without arguments; an error is printed, as site prints one. */
static void call_printing_errors(PyObject *module, const char *name) {
    PyObject *result = module != NULL ? PyObject_CallMethod(module, name, NULL) : NULL;
    if (result == NULL && PyErr_Occurred()) PyErr_Print();
    Py_XDECREF(result);
}

/* What site.main() gives a bundle whose site-packages needs no .pth processing, without
 * its path scanning: the builtins exit, quit, help, copyright, credits and license, then
 * the restore hook the .pth would import. */
static void finish_without_site(int hook) {
    PyObject *site = PyImport_ImportModule("site"); /* with no_site set, main() is not run */
    if (site == NULL) PyErr_Print();
    call_printing_errors(site, "setquit");
    call_printing_errors(site, "setcopyright");
    call_printing_errors(site, "sethelper");
    Py_XDECREF(site);
    if (!hook) return;
    PyObject *restore = PyImport_ImportModule(RESTORE_HOOK);
    if (restore == NULL) PyErr_Print();
    Py_XDECREF(restore);
}

/* The module search path of a bundle started without site: the stdlib zip (bundles of
 * older packagers), the stdlib, lib-dynload and site-packages. 0 and why, on failure. */
static int set_search_paths(PyConfig *config, const char *prefix, const char *stdlib_dir,
                            const char *site_packages, char *why, size_t why_size) {
    char zip[PATH_MAX], dynload[PATH_MAX];
    int zip_length = snprintf(zip, sizeof zip, "%s/lib/python%d%d.zip", prefix,
                              PY_MAJOR_VERSION, PY_MINOR_VERSION);
    int dynload_length = snprintf(dynload, sizeof dynload, "%s/lib-dynload", stdlib_dir);
    if (zip_length < 0 || (size_t)zip_length >= sizeof zip || dynload_length < 0 ||
        (size_t)dynload_length >= sizeof dynload) {
        snprintf(why, why_size, "the bundle's path is too long: %s", prefix);
        return 0;
    }
    const char *paths[] = {is_file(zip) ? zip : NULL, stdlib_dir, dynload, site_packages};
    config->module_search_paths_set = 1;
    for (size_t i = 0; i < 4; i++) {
        if (paths[i] == NULL) continue;
        wchar_t *wide = Py_DecodeLocale(paths[i], NULL);
        PyStatus status = wide != NULL ? PyWideStringList_Append(&config->module_search_paths, wide)
                                       : PyStatus_NoMemory();
        PyMem_RawFree(wide);
        if (PyStatus_Exception(status)) {
            char text[512];
            snprintf(why, why_size, "cannot configure Python: %s",
                     status_text(status, text, sizeof text));
            return 0;
        }
    }
    return 1;
}

/* Start Python as Py_InitializeEx would, but with its home set to the bundle and, as
 * the launcher has it, nothing of another Python's environment: PYTHONHOME, PYTHONPATH
 * (and a sitecustomize on it), PYTHONPLATLIBDIR and the user's site-packages (its .pth
 * files and usercustomize) are not read. The process's environment is left as it is.
 * When site-packages has nothing for the site module to process (and no sitecustomize is
 * on the path), site is not run: the search path is set here and finish_without_site does
 * the rest (start-up is ~10% faster, see bench/bench_startup.py). */
static void start_in_bundle(const char *prefix, int install_signal_handlers) {
    char why[PATH_MAX + 128];
    PyConfig config;
    PyConfig_InitPythonConfig(&config);
    config.install_signal_handlers = install_signal_handlers;
    config.user_site_directory = 0;
    char stdlib_dir[PATH_MAX], site_packages[PATH_MAX];
    snprintf(stdlib_dir, sizeof stdlib_dir, "%s/lib/python%d.%d", prefix, PY_MAJOR_VERSION,
             PY_MINOR_VERSION);
    char dynload[PATH_MAX];
    snprintf(dynload, sizeof dynload, "%s/lib-dynload", stdlib_dir);
    int hook = 0;
    int without_site = site_packages_of(stdlib_dir, site_packages, sizeof site_packages) &&
                       !needs_site(site_packages, &hook) && !has_sitecustomize(stdlib_dir) &&
                       !has_sitecustomize(dynload);
    /* The home first: setting a string pre-initializes Python, so the paths below are
     * decoded as the strings are (UTF-8 in the C locale, PEP 538). */
    int configured = set_string(&config, &config.home, prefix, why, sizeof why);
#if PY_VERSION_HEX >= 0x03090000
    configured = configured && set_string(&config, &config.platlibdir, "lib", why, sizeof why);
#endif
    if (without_site) {
        config.site_import = 0;
        configured = configured && set_search_paths(&config, prefix, stdlib_dir, site_packages,
                                                     why, sizeof why);
    } else {
        /* Set, they are not read from the environment. The search path names the stdlib
         * folder, on the path anyway (site drops the duplicate): an empty one would add the
         * working directory before 3.11. */
        configured = configured &&
                     set_string(&config, &config.pythonpath_env, stdlib_dir, why, sizeof why);
    }
    if (!configured) {
        PyConfig_Clear(&config);
        fail("%s", why);
    }
    snprintf(why, sizeof why, "Python cannot start from the bundle at %s", prefix);
    start_with(&config, why);
    if (without_site) finish_without_site(hook);
}

/* -- output is never lost -------------------------------------------------------------- */

static void flush_streams(void) { /* the GIL is held */
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *pending = PyErr_GetRaisedException();
#else
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
#endif
    const char *names[] = {"stdout", "stderr"};
    for (size_t i = 0; i < 2; i++) {
        PyObject *stream = PySys_GetObject(names[i]);
        if (stream == NULL || stream == Py_None) continue;
        PyObject *result = PyObject_CallMethod(stream, "flush", NULL);
        if (result == NULL) PyErr_Clear();
        Py_XDECREF(result);
    }
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(pending);
#else
    PyErr_Restore(type, value, traceback);
#endif
}

static pthread_mutex_t flush_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t flush_done = PTHREAD_COND_INITIALIZER;
static int flushed;

static void *flush_in_thread(void *unused) {
    (void)unused;
    PyGILState_STATE state = PyGILState_Ensure();
    flush_streams();
    PyGILState_Release(state);
    pthread_mutex_lock(&flush_lock);
    flushed = 1;
    pthread_cond_signal(&flush_done);
    pthread_mutex_unlock(&flush_lock);
    return NULL;
}

/* At exit: flush Python's sys.stdout and sys.stderr. The thread exiting may hold the GIL
 * (std::process::exit inside Python::attach): it flushes them itself. Otherwise a helper
 * thread takes the GIL, and the exit waits for it a bounded time, so a thread that keeps
 * the GIL forever cannot hang the exit. */
static void flush_at_exit(void *unused) {
    (void)unused;
#if PY_VERSION_HEX >= 0x030D0000
    int finalizing = Py_IsFinalizing();
#else
    int finalizing = _Py_IsFinalizing();
#endif
    if (!Py_IsInitialized() || finalizing) return;
    if (PyGILState_Check()) {
        flush_streams();
        return;
    }
    pthread_attr_t attributes;
    pthread_t helper;
    if (pthread_attr_init(&attributes) != 0) return;
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    int started = pthread_create(&helper, &attributes, flush_in_thread, NULL) == 0;
    pthread_attr_destroy(&attributes);
    if (!started) return;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += FLUSH_WAIT_SECONDS;
    pthread_mutex_lock(&flush_lock);
    while (!flushed && pthread_cond_timedwait(&flush_done, &flush_lock, &deadline) == 0) {
    }
    pthread_mutex_unlock(&flush_lock);
}

/* -- the entry points -------------------------------------------------------------- */

/* Before main(): a program in a bundle's bin/ folder enters the bundle's --workdir, so
 * files the program opens before Python starts are found there too. */
__attribute__((constructor)) static void enter_bundle_workdir(void) {
    if (PAYLOAD_SLOT.format != 0) return;
    char *prefix = bundle_prefix();
    if (prefix == NULL) return;
    enter_workdir(prefix);
    free(prefix);
}

void __wrap_Py_InitializeEx(int install_signal_handlers) {
    static int exit_flush_registered;
    if (Py_IsInitialized()) return; /* as Py_InitializeEx itself */
    struct payload_slot slot;
    memcpy(slot.magic, (const char *)PAYLOAD_SLOT.magic, sizeof slot.magic);
    slot.format = PAYLOAD_SLOT.format;
    slot.payload_offset = PAYLOAD_SLOT.payload_offset;
    slot.payload_size = PAYLOAD_SLOT.payload_size;
    slot.table_offset = PAYLOAD_SLOT.table_offset;
    slot.checksum = PAYLOAD_SLOT.checksum;
    char *prefix = NULL;
    if (slot.format != 0) {
        open_payload(&slot);
        if (payload.has_app) {
            char *app = joined(payload.executable, "app");
            if (app != NULL) setenv(APP_DIR_VARIABLE, app, 1);
            free(app);
        }
        PyImport_AppendInittab("_packager_payload", init_payload_module);
        start_from_payload(install_signal_handlers);
    } else if ((prefix = bundle_prefix()) != NULL) {
        char *app = joined(prefix, "app");
        struct stat status;
        if (app != NULL && stat(app, &status) == 0 && S_ISDIR(status.st_mode))
            setenv(APP_DIR_VARIABLE, app, 1);
        free(app);
        point_tcl_at_bundle(prefix);
        start_in_bundle(prefix, install_signal_handlers);
        free(prefix);
    } else {
        __real_Py_InitializeEx(install_signal_handlers);
    }
    if (!exit_flush_registered && Py_IsInitialized()) {
        exit_flush_registered = 1;
        __cxa_atexit(flush_at_exit, NULL, NULL);
    }
}
