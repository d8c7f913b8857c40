#pragma once
/// \file
/// Exceptions thrown by dpkit. Every message names the entity, the parameter and
/// the rule that was broken, and (where there is one) the offending value.

#include <stdexcept>
#include <string>

namespace dpkit {

/// A parameter broke a documented rule. Derived from std::invalid_argument.
class invalid_argument : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// A value left the range that dpkit can represent exactly (for example an
/// exact sampler whose result would not fit in 64 bits). Such events are either
/// impossible for accepted parameters or astronomically unlikely; they are
/// reported rather than wrapped around.
class overflow_error : public std::overflow_error {
public:
    using std::overflow_error::overflow_error;
};

/// A spend was refused because it would exceed the budget. Nothing was spent.
/// The message names the budget, the request, what was spent and what remains.
class budget_exhausted : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace dpkit
