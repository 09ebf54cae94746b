# SPDX-License-Identifier: Apache-2.0
# The one test a build without GoogleTest has: it fails and says what to install.
message(FATAL_ERROR "limen's tests need GoogleTest, which this build did not find: "
                    "apt-get install libgtest-dev, then configure again")
