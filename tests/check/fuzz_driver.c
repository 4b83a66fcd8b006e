/* fuzz_driver.c: a main() for fuzz_line_reader.c where clang has no libFuzzer (gcc, Apple's
   clang). Not as clever as libFuzzer, which steers by coverage; it runs every file of the
   corpus, then random mutations of them until the time is up.

   fuzz_driver SECONDS CORPUS_DIR_OR_FILE...   (build with -fsanitize=address,undefined)

   When an input breaks a rule (the target aborts, or a sanitizer does), the signal handler
   writes that input to crash-standalone in the current directory before the process dies, so
   it can be replayed: fuzz_driver 0 crash-standalone. Exit 0 when every input passed. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_INPUT = 16384, MAX_SEEDS = 4096 };

static uint8_t *seeds[MAX_SEEDS];
static size_t seed_sizes[MAX_SEEDS];
static size_t seed_count;

/* The input being run, for the crash handler. */
static const uint8_t *current;
static size_t current_size;

static void save_current_input(int signo)
{
    int fd = open("crash-standalone", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        const uint8_t *p = current;
        size_t left = current_size;
        while (left > 0) {
            ssize_t n = write(fd, p, left);
            if (n <= 0)
                break;
            p += n;
            left -= (size_t)n;
        }
        close(fd);
    }
    static const char note[] = "fuzz_driver: the failing input is in ./crash-standalone\n";
    ssize_t ignored = write(STDERR_FILENO, note, sizeof note - 1);
    (void)ignored;
    signal(signo, SIG_DFL);
    raise(signo);
}

static void add_seed(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        exit(2);
    }
    uint8_t *data = malloc(MAX_INPUT);
    if (data == NULL || seed_count == MAX_SEEDS) {
        fprintf(stderr, "fuzz_driver: too many seeds\n");
        exit(2);
    }
    size_t size = fread(data, 1, MAX_INPUT, file);
    fclose(file);
    seeds[seed_count] = data;
    seed_sizes[seed_count++] = size;
}

static void add_seeds(const char *path)
{
    struct stat info;
    if (stat(path, &info) < 0) {
        perror(path);
        exit(2);
    }
    if (!S_ISDIR(info.st_mode)) {
        add_seed(path);
        return;
    }
    DIR *dir = opendir(path);
    if (dir == NULL) {
        perror(path);
        exit(2);
    }
    struct dirent *entry;
    /* readdir, not readdir_r as cppcheck advises: glibc deprecates readdir_r, and this
       program has one thread anyway. */
    /* cppcheck-suppress readdirCalled */
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, entry->d_name);
        add_seed(full);
    }
    closedir(dir);
}

static uint64_t random_state = 0x2545f4914f6cdd1dULL;

static uint64_t next_random(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

/* A few random edits of a seed: new bytes, more '\n', long runs (to cross the limit), cuts,
   and pieces of another seed. */
static size_t mutate(uint8_t *out, const uint8_t *seed, size_t size)
{
    memcpy(out, seed, size);
    int edits = 1 + (int)(next_random() % 8);
    for (int e = 0; e < edits; e++) {
        uint64_t r = next_random();
        size_t at = size > 0 ? (size_t)(r >> 8) % size : 0;
        switch (r % 6) {
        case 0: /* change a byte */
            if (size > 0)
                out[at] = (uint8_t)(next_random() & 0xff);
            break;
        case 1: /* a '\n' somewhere */
            if (size > 0)
                out[at] = '\n';
            break;
        case 2: { /* insert a run of one byte */
            size_t run = (size_t)(next_random() % 1500);
            if (size + run > MAX_INPUT)
                run = MAX_INPUT - size;
            memmove(out + at + run, out + at, size - at);
            memset(out + at, (next_random() % 4 == 0) ? '\n' : 'a', run);
            size += run;
            break;
        }
        case 3: /* cut the end */
            size = at;
            break;
        case 4: { /* splice in a piece of another seed */
            size_t index = (size_t)(next_random() % seed_count);
            size_t piece = seed_sizes[index] < 64 ? seed_sizes[index] : 64;
            if (size + piece <= MAX_INPUT) {
                memmove(out + at + piece, out + at, size - at);
                memcpy(out + at, seeds[index], piece);
                size += piece;
            }
            break;
        }
        default: /* new chunk sizes and limit: rewrite the header */
            if (size >= 5)
                for (int i = 0; i < 5; i++)
                    out[i] = (uint8_t)(next_random() & 0xff);
            break;
        }
    }
    return size;
}

static void run_one(const uint8_t *data, size_t size)
{
    current = data;
    current_size = size;
    LLVMFuzzerTestOneInput(data, size);
}

int main(int argc, char *argv[])
{
    if (argc < 3) {
        fprintf(stderr, "usage: fuzz_driver SECONDS CORPUS_DIR_OR_FILE...\n");
        return 2;
    }
    char *end;
    double seconds = strtod(argv[1], &end);
    if (end == argv[1] || *end != '\0' || seconds < 0) {
        fprintf(stderr, "fuzz_driver: SECONDS must be a number, not '%s'\n", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i++)
        add_seeds(argv[i]);
    if (seed_count == 0) {
        fprintf(stderr, "fuzz_driver: no inputs in the corpus\n");
        return 2;
    }
    signal(SIGABRT, save_current_input);
    signal(SIGSEGV, save_current_input);
    signal(SIGBUS, save_current_input);

    for (size_t i = 0; i < seed_count; i++)
        run_one(seeds[i], seed_sizes[i]);
    printf("fuzz_driver: %zu corpus inputs passed\n", seed_count);

    static uint8_t input[MAX_INPUT];
    struct timespec start;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    random_state ^= (uint64_t)start.tv_nsec;
    unsigned long runs = 0;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        double elapsed =
            (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
        if (elapsed >= seconds)
            break;
        for (int batch = 0; batch < 256; batch++) {
            size_t index = (size_t)(next_random() % seed_count);
            size_t size = mutate(input, seeds[index], seed_sizes[index]);
            run_one(input, size);
            runs++;
        }
    }
    printf("fuzz_driver: %lu random inputs passed in %.0f s\n", runs, seconds);
    return 0;
}
