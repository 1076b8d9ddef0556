#ifndef REARVIEW_CPCRE2_SHIM_H
#define REARVIEW_CPCRE2_SHIM_H
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

// Statics live inside functions: Swift emits the C functions it calls, and a function's own statics
// with them, but not file-scope variables of a header.

// Empty subjects and patterns may come as NULL from Swift; PCRE2 wants an address.
static inline const uint8_t *rv_pcre2_empty(void) {
    static const uint8_t empty[1] = {0};
    return empty;
}

// `pcre2_compile` that accepts a NULL pattern of length 0.
static inline pcre2_code_8 *rv_pcre2_compile(const uint8_t *pattern, size_t length, uint32_t options,
                                             int *error_code, size_t *error_offset) {
    return pcre2_compile_8(pattern != NULL ? pattern : rv_pcre2_empty(), length, options, error_code, error_offset, NULL);
}

static inline void rv_pcre2_free_match_data(void *data) {
    pcre2_match_data_free_8((pcre2_match_data_8 *)data);
}

// The key whose destructor frees a thread's match data when the thread exits.
static inline pthread_key_t *rv_pcre2_match_data_key(void) {
    static pthread_key_t key;
    return &key;
}

static inline void rv_pcre2_create_match_data_key(void) {
    pthread_key_create(rv_pcre2_match_data_key(), rv_pcre2_free_match_data);
}

// The match-data block of the calling thread. Its ovector holds one pair: callers only ask whether
// a pattern matches, so one block serves every pattern (a result of 0, "ovector too small", still
// means a match). Created on first use, freed when the thread exits.
static inline pcre2_match_data_8 *rv_pcre2_thread_match_data(void) {
    static __thread pcre2_match_data_8 *cached;
    if (cached != NULL) return cached;
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, rv_pcre2_create_match_data_key);
    cached = pcre2_match_data_create_8(1, NULL);
    if (cached != NULL) pthread_setspecific(*rv_pcre2_match_data_key(), cached);
    return cached;
}

// Whether `code` matches somewhere in `subject` (valid UTF-8, not checked again; NULL when empty): 1 yes, 0 no,
// negative a PCRE2 error. With `jit`, runs the JIT code and falls back to the interpreter when the
// JIT stack is too small for this subject.
static inline int rv_pcre2_matches(const pcre2_code_8 *code, const uint8_t *subject, size_t length, int jit) {
    pcre2_match_data_8 *data = rv_pcre2_thread_match_data();
    if (data == NULL) return PCRE2_ERROR_NOMEMORY;
    if (subject == NULL) subject = rv_pcre2_empty();
    int rc;
    if (jit) {
        rc = pcre2_jit_match_8(code, subject, length, 0, 0, data, NULL);
        if (rc != PCRE2_ERROR_JIT_STACKLIMIT) return rc >= 0 ? 1 : (rc == PCRE2_ERROR_NOMATCH ? 0 : rc);
    }
    rc = pcre2_match_8(code, subject, length, 0, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, data, NULL);
    return rc >= 0 ? 1 : (rc == PCRE2_ERROR_NOMATCH ? 0 : rc);
}

#endif
