// Whether the test binary runs under a sanitizer, for checks that only mean
// something without one.
#ifndef XXLJOB_TESTS_TESTING_SANITIZERS_H_
#define XXLJOB_TESTS_TESTING_SANITIZERS_H_

namespace xxljob::testing {

// Under ASan (a quarantine of freed memory, shadow memory) and TSan (shadow
// memory) resident memory says nothing about ours: memory bounds are checked
// in the normal build only.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kRssIsMeaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
inline constexpr bool kRssIsMeaningful = false;
#else
inline constexpr bool kRssIsMeaningful = true;
#endif
#else
inline constexpr bool kRssIsMeaningful = true;
#endif

}  // namespace xxljob::testing

#endif  // XXLJOB_TESTS_TESTING_SANITIZERS_H_
