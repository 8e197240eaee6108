/* predecode.c - event blocks decoded ahead on a second thread while the
 * replay merges the events of the blocks before them.
 *
 * The replay hands over every block (its bytes in the reader's snapshot,
 * which stay valid and unchanged while the replay runs) in about the order
 * it will need them. The thread decodes them in that order into arrays of
 * events, at most MAX_AHEAD events ahead of what the replay took. The
 * replay takes a block's array when it is ready, waits when the thread is
 * at that block, and decodes a block itself when the thread has not come
 * to it (the thread then skips it): the events and errors are the same
 * either way. The thread never touches the reader (LMDB) or the replay's
 * state.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "internal.h"

#define MAX_AHEAD (64u * 1024) /* events decoded and not taken yet (4 MiB) */

enum { FREE, DECODING, DECODED, TAKEN };

typedef struct job {
    const void *data;
    size_t len;
    mt_event_t *ev;
    size_t n, cap;
    int rc;     /* 0, or the error after the n events */
    bool opened; /* mt_block_open accepted it */
    int state;
} job_t;

struct mt_predecode {
    job_t *jobs;
    size_t njobs;
    size_t ahead;  /* events in DECODED jobs */
    bool stop, started;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t decoded; /* blocks the thread decoded */
    /* arrays given back (mt_predecode_give_back), for the next blocks:
     * fresh ones of this size would be mapped and faulted in each time */
    struct spare {
        mt_event_t *ev;
        size_t cap;
    } *spare;
    size_t nspare, spare_cap;
};

mt_predecode_t *mt_predecode_new(size_t nblocks)
{
    mt_predecode_t *pd = calloc(1, sizeof(*pd));
    if (!pd)
        return NULL;
    if (nblocks && !(pd->jobs = calloc(nblocks, sizeof(*pd->jobs)))) {
        free(pd);
        return NULL;
    }
    pd->njobs = nblocks;
    if (pthread_mutex_init(&pd->mu, NULL)) {
        free(pd->jobs);
        free(pd);
        return NULL;
    }
    if (pthread_cond_init(&pd->cv, NULL)) {
        pthread_mutex_destroy(&pd->mu);
        free(pd->jobs);
        free(pd);
        return NULL;
    }
    return pd;
}

void mt_predecode_set(mt_predecode_t *pd, size_t i, const void *data, size_t len)
{
    pd->jobs[i].data = data;
    pd->jobs[i].len = len;
}

/* Decodes job J whole (the thread's side), into SPARE[SPARE_CAP] when that
 * is not NULL and large enough. */
static void decode(job_t *j, mt_event_t *spare, size_t spare_cap)
{
    mt_block_decoder_t dec;
    j->ev = spare;
    j->cap = spare_cap;
    if ((j->rc = mt_block_open(&dec, j->data, j->len)) != 0)
        return;
    j->opened = true;
    if (!j->ev || j->cap < dec.count) {
        free(j->ev);
        j->cap = dec.count ? dec.count : 16;
        if (!(j->ev = malloc(j->cap * sizeof(*j->ev)))) {
            j->rc = ENOMEM;
            return;
        }
    }
    for (;;) {
        if (j->n == j->cap) {
            mt_event_t *g = realloc(j->ev, 2 * j->cap * sizeof(*g));
            if (!g) {
                mt_block_close(&dec); /* left mid-way */
                j->rc = ENOMEM;
                return;
            }
            j->ev = g;
            j->cap *= 2;
        }
        int rc = mt_block_next(&dec, &j->ev[j->n]);
        if (rc == 1) {
            j->n++;
            continue;
        }
        j->rc = rc < 0 ? rc : 0;
        return;
    }
}

static void *run(void *arg)
{
    mt_predecode_t *pd = arg;
    pthread_mutex_lock(&pd->mu);
    for (size_t i = 0; i < pd->njobs && !pd->stop; i++) {
        job_t *j = &pd->jobs[i];
        while (!pd->stop && pd->ahead >= MAX_AHEAD)
            pthread_cond_wait(&pd->cv, &pd->mu);
        if (pd->stop)
            break;
        if (j->state != FREE)
            continue; /* the replay decoded it itself */
        j->state = DECODING;
        mt_event_t *spare = NULL;
        size_t spare_cap = 0;
        if (pd->nspare) {
            pd->nspare--;
            spare = pd->spare[pd->nspare].ev;
            spare_cap = pd->spare[pd->nspare].cap;
        }
        pthread_mutex_unlock(&pd->mu);
        decode(j, spare, spare_cap);
        pthread_mutex_lock(&pd->mu);
        if (j->rc == ENOMEM) { /* the replay decodes it itself, or says so */
            free(j->ev);
            *j = (job_t){.data = j->data, .len = j->len, .state = FREE};
            pd->stop = true;
        } else {
            j->state = DECODED;
            pd->ahead += j->n;
            pd->decoded++;
        }
        pthread_cond_broadcast(&pd->cv);
    }
    pthread_mutex_unlock(&pd->mu);
    return NULL;
}

int mt_predecode_start(mt_predecode_t *pd)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals stay the main thread's */
    int rc = pthread_create(&pd->thread, NULL, run, pd);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pd->started = rc == 0;
    return rc;
}

bool mt_predecode_take(mt_predecode_t *pd, size_t i, mt_predecoded_t *out)
{
    if (!pd || i >= pd->njobs)
        return false;
    job_t *j = &pd->jobs[i];
    pthread_mutex_lock(&pd->mu);
    while (j->state == DECODING)
        pthread_cond_wait(&pd->cv, &pd->mu);
    bool ready = j->state == DECODED;
    if (ready) {
        pd->ahead -= j->n;
        *out = (mt_predecoded_t){j->ev, j->n, j->cap, j->rc, j->opened};
        j->ev = NULL;
        pthread_cond_broadcast(&pd->cv);
    }
    j->state = TAKEN;
    pthread_mutex_unlock(&pd->mu);
    return ready;
}

void mt_predecode_give_back(mt_predecode_t *pd, mt_predecoded_t *b)
{
    if (!b->ev)
        return;
    pthread_mutex_lock(&pd->mu);
    struct spare *e = MT_VEC_PUSH(NULL, pd->spare, pd->nspare, pd->spare_cap);
    if (e) { /* at most the arrays of MAX_AHEAD events and of the cursors */
        *e = (struct spare){b->ev, b->cap};
        pd->nspare++;
        b->ev = NULL;
    }
    pthread_mutex_unlock(&pd->mu);
    free(b->ev);
    b->ev = NULL;
}

uint64_t mt_predecode_count(mt_predecode_t *pd)
{
    pthread_mutex_lock(&pd->mu);
    uint64_t n = pd->decoded;
    pthread_mutex_unlock(&pd->mu);
    return n;
}

void mt_predecode_free(mt_predecode_t *pd)
{
    if (!pd)
        return;
    if (pd->started) {
        pthread_mutex_lock(&pd->mu);
        pd->stop = true;
        pthread_cond_broadcast(&pd->cv);
        pthread_mutex_unlock(&pd->mu);
        pthread_join(pd->thread, NULL);
    }
    for (size_t i = 0; i < pd->njobs; i++)
        free(pd->jobs[i].ev);
    for (size_t i = 0; i < pd->nspare; i++)
        free(pd->spare[i].ev);
    free(pd->spare);
    free(pd->jobs);
    pthread_mutex_destroy(&pd->mu);
    pthread_cond_destroy(&pd->cv);
    free(pd);
}
