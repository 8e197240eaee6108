/* debugfile.c - separate debug files (libc6-dbg's, Debian's -dbgsym ones)
 * handed to libdwfl with their compressed sections already inflated.
 *
 * Such files compress their DWARF with zlib (SHF_COMPRESSED), and libdw
 * inflates every debug section when it opens one: for libc's 10 MiB that
 * was 230 M instructions, the largest part of `top` on most programs. The
 * symbolizer's find_debuginfo (symbolize.c) looks where libdwfl's standard
 * search looks first (/usr/lib/debug/.build-id/) and hands libdwfl the file
 * it finds there (its build id checked) as a memory file, with the sections inflated by libdeflate (several times
 * faster than zlib) and the location lists and macro sections emptied (the
 * symbolizer never reads them: no answer depends on them). Anything unusual
 * (no compressed section, a format other than zlib, a write that fails)
 * gives back the file as it was found.
 */
#define _GNU_SOURCE
#include <elfutils/libdwelf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "debugfile.h"
#include "internal.h"

bool mt__debugfile_standard_only; /* tests: libdwfl's standard search only */
static unsigned long inflated_files;

unsigned long mt_debugfile_inflated(void)
{
    return __atomic_load_n(&inflated_files, __ATOMIC_RELAXED);
}

/* Sections whose contents the symbolizer never reads. */
static bool unused_section(const char *name)
{
    static const char *const names[] = {".debug_loclists", ".debug_loc", ".debug_macro",
                                        ".debug_macinfo"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        if (!strcmp(name, names[i]))
            return true;
    return false;
}

typedef struct out_scn {
    void *buf; /* inflated (ours to free), or NULL: the input's bytes */
} out_scn_t;

/* Writes FD's ELF file, whose build id must be BITS[LEN], with its sections
 * inflated into a memory file. Returns that file's descriptor, or -1
 * (another build id, nothing worth doing, or a failure). */
static int rewrite(int fd, const unsigned char *bits, int len)
{
    Elf *in = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!in)
        return -1;
    int out_fd = -1, rc = -1;
    Elf *out = NULL;
    size_t shstrndx, nscn = 0, phnum;
    GElf_Ehdr eh;
    out_scn_t *bufs = NULL;
    struct libdeflate_decompressor *dec = NULL;
    const void *id;
    if (elf_kind(in) != ELF_K_ELF || dwelf_elf_gnu_build_id(in, &id) != len ||
        memcmp(id, bits, (size_t)len) != 0 || !gelf_getehdr(in, &eh) ||
        elf_getshdrstrndx(in, &shstrndx) != 0 || elf_getshdrnum(in, &nscn) != 0 ||
        elf_getphdrnum(in, &phnum) != 0 || !(bufs = calloc(nscn + 1, sizeof(*bufs))))
        goto done;
    /* Worth it only with compressed sections. */
    bool any = false;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(in, scn)) != NULL;) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_COMPRESSED))
            any = true;
    }
    if (!any || !(dec = libdeflate_alloc_decompressor()))
        goto done;
    if ((out_fd = memfd_create("mtrace-debuginfo", MFD_CLOEXEC)) < 0 ||
        !(out = elf_begin(out_fd, ELF_C_WRITE, NULL)) || !gelf_newehdr(out, gelf_getclass(in)))
        goto done;
    GElf_Ehdr oeh = eh;
    if (phnum && !gelf_newphdr(out, phnum))
        goto done;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(in, (int)i, &ph) || !gelf_update_phdr(out, (int)i, &ph))
            goto done;
    }
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(in, scn)) != NULL;) {
        GElf_Shdr sh;
        Elf_Scn *os = elf_newscn(out);
        const char *name;
        Elf_Data *d = elf_rawdata(scn, NULL);
        if (!os || !gelf_getshdr(scn, &sh) || !(name = elf_strptr(in, shstrndx, sh.sh_name)))
            goto done;
        size_t idx = elf_ndxscn(scn);
        Elf_Data *od = elf_newdata(os);
        if (!od)
            goto done;
        od->d_type = ELF_T_BYTE;
        od->d_version = EV_CURRENT;
        od->d_off = 0;
        od->d_align = sh.sh_addralign ? sh.sh_addralign : 1;
        if (sh.sh_type == SHT_NOBITS) {
            od->d_buf = NULL;
            od->d_size = sh.sh_size;
        } else if (unused_section(name)) {
            sh.sh_flags &= ~(GElf_Xword)SHF_COMPRESSED;
            od->d_buf = NULL;
            od->d_size = 0;
            sh.sh_size = 0;
        } else if (sh.sh_flags & SHF_COMPRESSED) {
            GElf_Chdr ch;
            size_t hdr = gelf_getclass(in) == ELFCLASS64 ? sizeof(Elf64_Chdr) : sizeof(Elf32_Chdr);
            if (!d || d->d_size < hdr || !gelf_getchdr(scn, &ch) || ch.ch_type != ELFCOMPRESS_ZLIB ||
                !(bufs[idx].buf = malloc(ch.ch_size ? ch.ch_size : 1)))
                goto done;
            size_t got;
            if (libdeflate_zlib_decompress(dec, (const char *)d->d_buf + hdr, d->d_size - hdr,
                                           bufs[idx].buf, ch.ch_size, &got) != LIBDEFLATE_SUCCESS ||
                got != ch.ch_size)
                goto done;
            sh.sh_flags &= ~(GElf_Xword)SHF_COMPRESSED;
            sh.sh_size = ch.ch_size;
            sh.sh_addralign = ch.ch_addralign;
            od->d_align = ch.ch_addralign ? ch.ch_addralign : 1;
            od->d_buf = bufs[idx].buf;
            od->d_size = ch.ch_size;
        } else {
            if (!d)
                goto done;
            od->d_buf = d->d_buf;
            od->d_size = d->d_size;
        }
        if (!gelf_update_shdr(os, &sh))
            goto done;
    }
    oeh.e_shstrndx = eh.e_shstrndx; /* same section numbers (with SHN_XINDEX: in section 0) */
    if (!gelf_update_ehdr(out, &oeh) || elf_update(out, ELF_C_WRITE) < 0)
        goto done;
    rc = 0;
done:
    if (out)
        elf_end(out);
    for (size_t i = 0; bufs && i <= nscn; i++)
        free(bufs[i].buf);
    free(bufs);
    if (dec)
        libdeflate_free_decompressor(dec);
    elf_end(in);
    if (rc != 0) {
        if (out_fd >= 0)
            close(out_fd);
        return -1;
    }
    if (lseek(out_fd, 0, SEEK_SET) != 0) {
        close(out_fd);
        return -1;
    }
    return out_fd;
}

int mt_debugfile_find(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                      char **debuginfo_file_name)
{
    /* The standard search's first try, with the default debuginfo path:
     * /usr/lib/debug/.build-id/xx/rest.debug, when its build id matches.
     * (Through the standard search itself libdwfl would keep its own
     * handle on that file and inflate it.) */
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    if (!mt__debugfile_standard_only && len > 1 && len <= 64) {
        char path[64 + 2 * 64];
        int o = snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%02x/", bits[0]);
        for (int i = 1; i < len; i++)
            o += snprintf(path + o, sizeof(path) - (size_t)o, "%02x", bits[i]);
        snprintf(path + o, sizeof(path) - (size_t)o, ".debug");
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            int inflated = rewrite(fd, bits, len);
            close(fd);
            char *name = inflated >= 0 ? strdup(path) : NULL;
            if (name) {
                __atomic_add_fetch(&inflated_files, 1, __ATOMIC_RELAXED);
                free(*debuginfo_file_name);
                *debuginfo_file_name = name;
                return inflated;
            }
            if (inflated >= 0)
                close(inflated);
        }
    }
    return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
}
