/* test_fileio.c: cmocka suite for libinrf/fileio.c: what the writer does
 * with links, FIFOs and folders, and the readers' look at the magic of a
 * device before they read it whole. */
#define _XOPEN_SOURCE 700 /* nftw, mkdtemp, symlink */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inrf/inrf.h"

static char dir[4096];

static int make_dir(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/test_fileio.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int remove_dir(void **state)
{
    (void)state;
    return nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir/name in a static buffer (one of four, so that calls can nest). */
static const char *in_dir(const char *name)
{
    static char buf[4][4200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* The whole file as a string (NUL-terminated), or NULL. */
static char *slurp(const char *path)
{
    void *d;
    size_t n;
    if (inrf_file_read(path, 1 << 20, &d, &n) != INRF_OK)
        return NULL;
    char *s = realloc(d, n + 1);
    assert_non_null(s);
    s[n] = 0;
    return s;
}

/* Whether a temporary file of an atomic write is left in folder. */
static int has_temp_files(const char *folder)
{
    DIR *d = opendir(folder);
    assert_non_null(d);
    struct dirent *e;
    int found = 0;
    while ((e = readdir(d)))
        found |= strstr(e->d_name, ".tmp-") != NULL;
    closedir(d);
    return found;
}

/* A file of the given contents. */
static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void count_removed(const char *file, void *n)
{
    assert_non_null(strstr(file, ".tmp-"));
    ++*(int *)n;
}

/* What a killed atomic write leaves (PATH.tmp-XXXXXX beside the target of
 * path's links) is removed; look-alikes and other files' temporaries stay. */
static void test_remove_stale_temps(void **state)
{
    (void)state;
    assert_int_equal(mkdir(in_dir("other"), 0777), 0);
    put(in_dir("other/target"), "data");
    assert_int_equal(symlink("other/target", in_dir("link")), 0);
    put(in_dir("other/target.tmp-Ab12Z9"), "stale");
    put(in_dir("other/target.tmp-Qx81Lm"), "stale");
    put(in_dir("other/target.tmp-short"), "keep: five characters");
    put(in_dir("other/target.tmp-Ab12Z9x"), "keep: seven characters");
    put(in_dir("other/targetx.tmp-Ab12Z9"), "keep: another file's");
    put(in_dir("link.tmp-Ab12Z9"), "keep: beside the link, not the target");
    int n = 0;
    assert_int_equal(inrf_file_remove_stale_temps(in_dir("link"), count_removed, &n), 2);
    assert_int_equal(n, 2);
    assert_int_equal(access(in_dir("other/target.tmp-Ab12Z9"), F_OK), -1);
    assert_int_equal(access(in_dir("other/target.tmp-Qx81Lm"), F_OK), -1);
    assert_int_equal(access(in_dir("other/target.tmp-short"), F_OK), 0);
    assert_int_equal(access(in_dir("other/target.tmp-Ab12Z9x"), F_OK), 0);
    assert_int_equal(access(in_dir("other/targetx.tmp-Ab12Z9"), F_OK), 0);
    assert_int_equal(access(in_dir("link.tmp-Ab12Z9"), F_OK), 0);
    assert_int_equal(access(in_dir("other/target"), F_OK), 0);
    assert_int_equal(inrf_file_remove_stale_temps(in_dir("link"), NULL, NULL), 0);
    assert_int_equal(inrf_file_remove_stale_temps("-", NULL, NULL), 0);
}

/* A second lock on a held file fails at once, saying it is held; letting
 * go (closing) makes it free again. */
static void test_lock(void **state)
{
    (void)state;
    int fd, fd2, busy;
    assert_int_equal(inrf_file_lock(in_dir("a.lock"), &fd, &busy), INRF_OK);
    assert_false(busy);
    assert_int_equal(inrf_file_lock(in_dir("a.lock"), &fd2, &busy), INRF_E_IO);
    assert_true(busy);
    assert_int_equal(fd2, -1);
    assert_non_null(strstr(inrf_last_error(), "a.lock"));
    close(fd);
    assert_int_equal(inrf_file_lock(in_dir("a.lock"), &fd2, &busy), INRF_OK);
    close(fd2);
    assert_int_equal(inrf_file_lock(in_dir("nofolder/a.lock"), &fd, &busy), INRF_E_IO);
    assert_false(busy);
}

static void test_write_through_link(void **state)
{
    (void)state;
    assert_int_equal(mkdir(in_dir("other"), 0777), 0);
    FILE *f = fopen(in_dir("other/target"), "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    assert_int_equal(symlink("other/target", in_dir("link")), 0);

    assert_int_equal(inrf_file_write_atomic(in_dir("link"), "new", 3), INRF_OK);
    struct stat sb;
    assert_int_equal(lstat(in_dir("link"), &sb), 0);
    assert_true(S_ISLNK(sb.st_mode));
    char *s = slurp(in_dir("other/target"));
    assert_non_null(s);
    assert_string_equal(s, "new");
    free(s);
    assert_false(has_temp_files(dir));
    assert_false(has_temp_files(in_dir("other")));
}

static void test_dangling_link_refused(void **state)
{
    (void)state;
    assert_int_equal(symlink("missing", in_dir("dangling")), 0);
    assert_int_equal(inrf_file_write_atomic(in_dir("dangling"), "x", 1), INRF_E_IO);
    assert_non_null(strstr(inrf_last_error(), in_dir("dangling")));
    assert_int_equal(inrf_file_check_output(in_dir("dangling")), INRF_E_IO);
    assert_int_equal(access(in_dir("missing"), F_OK), -1);
}

static void test_directory_refused(void **state)
{
    (void)state;
    assert_int_equal(mkdir(in_dir("folder"), 0777), 0);
    assert_int_equal(inrf_file_check_output(in_dir("folder")), INRF_E_IO);
    assert_non_null(strstr(inrf_last_error(), "is a directory"));
    assert_int_equal(inrf_file_write_atomic(in_dir("folder"), "x", 1), INRF_E_IO);
    struct stat sb;
    assert_int_equal(stat(in_dir("folder"), &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
}

static void test_check_output(void **state)
{
    (void)state;
    assert_int_equal(inrf_file_check_output("-"), INRF_OK);
    assert_int_equal(inrf_file_check_output(in_dir("new.inrf")), INRF_OK);
    assert_int_equal(access(in_dir("new.inrf"), F_OK), -1); /* nothing created */
    assert_int_equal(inrf_file_check_output(in_dir("nofolder/x.inrf")), INRF_E_IO);
    assert_non_null(strstr(inrf_last_error(), in_dir("nofolder/x.inrf")));
}

static void test_write_fifo_in_place(void **state)
{
    (void)state;
    const char *fifo = in_dir("fifo");
    if (mkfifo(fifo, 0666) != 0)
        skip();
    /* a reader first, so that opening for writing does not wait */
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    assert_true(rd >= 0);
    assert_int_equal(inrf_file_write_atomic(fifo, "through", 7), INRF_OK);
    char buf[16] = {0};
    assert_int_equal(read(rd, buf, sizeof buf), 7);
    assert_string_equal(buf, "through");
    close(rd);
    struct stat sb;
    assert_int_equal(lstat(fifo, &sb), 0);
    assert_true(S_ISFIFO(sb.st_mode));
    assert_false(has_temp_files(dir));
}

/* /dev/zero is never an .inrf, a pack or an image: each reader says so
 * after its first bytes rather than reading up to its limit. */
static void test_device_refused_by_magic(void **state)
{
    (void)state;
    if (access("/dev/zero", R_OK) != 0)
        skip();
    inrf_model *m = NULL;
    assert_int_equal(inrf_read_file("/dev/zero", NULL, &m), INRF_E_NOT_INRF);
    assert_null(m);
    inrf_pack *p = NULL;
    assert_int_equal(inrf_pack_open("/dev/zero", NULL, &p), INRF_E_NOT_INRF);
    assert_null(p);
    inrf_image img;
    assert_int_equal(inrf_image_read_file("/dev/zero", NULL, &img), INRF_E_IMAGE);

    static const char *const magics[] = {"\x89INRF\r\n\x1a", "\x89INPK\r\n\x1a"};
    void *d = NULL;
    size_t n = 0;
    assert_int_equal(inrf_file_read_magic("/dev/zero", 1 << 20, magics, 2, 8, "an .inrf file",
                                          &d, &n),
                     INRF_E_NOT_INRF);
    assert_string_equal(inrf_last_error(), "not an .inrf file (bad magic)");
    assert_null(d);
}

static void test_read_magic_accepts(void **state)
{
    (void)state;
    static const char *const magics[] = {"ABCD", "WXYZ"};
    const char *path = in_dir("magic");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("WXYZ and more", f);
    fclose(f);
    void *d = NULL;
    size_t n = 0;
    assert_int_equal(inrf_file_read_magic(path, 100, magics, 2, 4, "x", &d, &n), INRF_OK);
    assert_int_equal(n, 13);
    assert_memory_equal(d, "WXYZ and more", 13);
    free(d);
    /* shorter than the magic: its start is returned for the parser to
     * call truncated; anything else is refused */
    f = fopen(path, "w");
    fputs("AB", f);
    fclose(f);
    assert_int_equal(inrf_file_read_magic(path, 100, magics, 2, 4, "x", &d, &n), INRF_OK);
    assert_int_equal(n, 2);
    free(d);
    f = fopen(path, "w");
    fputs("AX", f);
    fclose(f);
    assert_int_equal(inrf_file_read_magic(path, 100, magics, 2, 4, "a test file", &d, &n),
                     INRF_E_NOT_INRF);
    assert_string_equal(inrf_last_error(), "not a test file (bad magic)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_through_link, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_remove_stale_temps, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_lock, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_dangling_link_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_directory_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_check_output, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_write_fifo_in_place, make_dir, remove_dir),
        cmocka_unit_test(test_device_refused_by_magic),
        cmocka_unit_test_setup_teardown(test_read_magic_accepts, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
