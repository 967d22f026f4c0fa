/* replay.c: runs the fuzz harness over every file of the saved corpus, so
 * that `make check` replays it without libFuzzer. Arguments: files or
 * folders; none means $top_srcdir/tests/fuzz/corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifndef REPLAY_CORPUS
#define REPLAY_CORPUS "corpus" /* folder under tests/fuzz */
#endif

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return 0;
    }
    size_t cap = 1 << 16, n = 0, r;
    uint8_t *buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += r) == cap)
            buf = realloc(buf, cap *= 2);
    fclose(f);
    if (!buf)
        return 0;
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

static void replay(const char *path, int *passed, int *failed)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "replay: %s: not found\n", path);
        ++*failed;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        if (replay_file(path))
            ++*passed;
        else
            ++*failed;
        return;
    }
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        replay(sub, passed, failed);
    }
    if (d)
        closedir(d);
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++)
            replay(argv[i], &passed, &failed);
    } else {
        const char *top = getenv("top_srcdir");
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/tests/fuzz/%s", top ? top : ".", REPLAY_CORPUS);
        replay(dir, &passed, &failed);
    }
    /* a crash or abort never reaches this line: the harness checks itself */
    printf("%d passed, %d failed\n", passed, failed);
    return failed || passed == 0;
}
