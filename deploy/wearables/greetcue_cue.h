// greetcue wearable: the logic of a cue, kept out of the YAML so it can be tested on a PC
// (tests/unit/deploy/test_wearable.py compiles this file with g++).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace greetcue {

// Seconds since 1970-01-01 UTC of an ISO-8601 UTC time such as "2026-12-04T23:30:00.5Z" or
// "...+00:00" (what the edge sends); -1 when the text is no such time.
inline int64_t utc_seconds(const std::string &iso) {
  int year, month, day, hour, minute;
  double second;
  if (std::sscanf(iso.c_str(), "%4d-%2d-%2dT%2d:%2d:%lf", &year, &month, &day, &hour, &minute,
                  &second) != 6)
    return -1;
  bool utc = iso.back() == 'Z' || (iso.size() > 6 && iso.compare(iso.size() - 6, 6, "+00:00") == 0);
  if (!utc || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 ||
      second < 0 || second >= 61)
    return -1;
  // Days since the epoch: count from 1 March, so that leap days fall at the end of a year.
  int y = year - (month <= 2 ? 1 : 0);
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t year_of_era = y - era * 400;
  int64_t month_from_march = (month + 9) % 12;
  int64_t day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  int64_t days = era * 146097 + day_of_era - 719468;
  return days * 86400 + hour * 3600 + minute * 60 + static_cast<int64_t>(second);
}

// Whether a cue that expires at `expires_at` is stale at `now` (seconds since the epoch; 0 or
// less: the clock is not set yet, so the cue is taken: a late buzz beats a missed customer).
inline bool stale(const std::string &expires_at, int64_t now) {
  if (now <= 0) return false;
  int64_t expires = utc_seconds(expires_at);
  return expires < 0 || now >= expires;
}

// How a cue vibrates: `pulses` of `on_ms` each, `off_ms` apart. The counts follow the counter
// buzzer's default patterns (one for 10 ft, two for 5 ft, three for 3 ft, two long ones for a
// customer waiting), with pulses long enough to be felt through a pocket.
struct Pattern {
  int pulses;
  int on_ms;
  int off_ms;
};

inline Pattern pattern_for(const std::string &zone, const std::string &reason) {
  if (reason == "waiting") return {2, 800, 300};
  if (zone == "3ft") return {3, 300, 200};
  if (zone == "5ft") return {2, 300, 200};
  return {1, 500, 0};
}

}  // namespace greetcue
