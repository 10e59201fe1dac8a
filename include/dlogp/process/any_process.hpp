#pragma once
// Type-erased process: one vocabulary type for code that picks the process at run time
// (the runner). Process functions are called once per step, so the indirection is free.
#include <memory>
#include <string>

#include "dlogp/core/concepts.hpp"

namespace dlogp {

class any_process {
 public:
  template <process P>
    requires(!std::same_as<std::remove_cvref_t<P>, any_process>)
  any_process(P p) : impl_(std::make_shared<model<P>>(std::move(p))) {}

  double alpha(double t) const { return impl_->alpha(t); }
  double sigma(double t) const { return impl_->sigma(t); }
  double sigma2(double t) const { return impl_->sigma2(t); }
  double f(double t) const { return impl_->f(t); }
  double g2(double t) const { return impl_->g2(t); }
  double log_snr(double t) const { return impl_->log_snr(t); }
  double t_from_log_snr(double l) const { return impl_->t_from_log_snr(l); }
  double t_min() const { return impl_->t_min(); }
  double t_max() const { return impl_->t_max(); }
  std::string name() const { return impl_->name(); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual double alpha(double) const = 0;
    virtual double sigma(double) const = 0;
    virtual double sigma2(double) const = 0;
    virtual double f(double) const = 0;
    virtual double g2(double) const = 0;
    virtual double log_snr(double) const = 0;
    virtual double t_from_log_snr(double) const = 0;
    virtual double t_min() const = 0;
    virtual double t_max() const = 0;
    virtual std::string name() const = 0;
  };
  template <class P>
  struct model final : concept_t {
    explicit model(P process) : p(std::move(process)) {}
    double alpha(double t) const override { return p.alpha(t); }
    double sigma(double t) const override { return p.sigma(t); }
    double sigma2(double t) const override { return p.sigma2(t); }
    double f(double t) const override { return p.f(t); }
    double g2(double t) const override { return p.g2(t); }
    double log_snr(double t) const override { return p.log_snr(t); }
    double t_from_log_snr(double l) const override { return p.t_from_log_snr(l); }
    double t_min() const override { return p.t_min(); }
    double t_max() const override { return p.t_max(); }
    std::string name() const override {
      if constexpr (requires { p.name(); }) return p.name();
      else return "custom";
    }
    P p;
  };
  std::shared_ptr<const concept_t> impl_;
};

}  // namespace dlogp
